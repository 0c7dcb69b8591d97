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
