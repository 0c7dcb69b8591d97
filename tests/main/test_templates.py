"""Template checks a page-by-page test would miss: markup rules that hold in every template."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"
INPUT = re.compile(r"<input\b[^>]*>", re.S)


def test_every_input_says_its_type():
    """Bootstrap Italia draws a field's underline on `input[type=...]`: an input without a type is invisible."""
    untyped = [f"{path.relative_to(TEMPLATES)}: {tag[:80]}"
               for path in sorted(TEMPLATES.rglob("*.html"))
               for tag in INPUT.findall(path.read_text(encoding="utf-8")) if not re.search(r"\btype=", tag)]
    assert not untyped, "\n".join(untyped)


def test_every_checkbox_and_radio_is_followed_by_its_label():
    """Bootstrap Italia hides the real box and draws one with `input + label`: anything in between hides it."""
    control = re.compile(r"<input\b[^>]*\btype=\"(?:checkbox|radio)\"[^>]*>(?P<after>\s*<?[^>]{0,40})", re.S)
    detached = [f"{path.relative_to(TEMPLATES)}: {match.group(0)[:120]}"
                for path in sorted(TEMPLATES.rglob("*.html"))
                for match in control.finditer(path.read_text(encoding="utf-8"))
                if not match.group("after").lstrip().startswith("<label")
                and "form-check" in path.read_text(encoding="utf-8")]
    assert not detached, "\n".join(detached)
