"""The English catalogue: the language switch, translated pages, and a catalogue that stays complete.

Italian strings are the msgids; `app/translations/en/LC_MESSAGES/messages.po` holds the English.
After adding or changing interface strings run `make translations-update`, translate the new
entries in the .po, then `make translations` (compiles the .mo the app reads).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import htmx

ROOT = Path(__file__).resolve().parents[2]
PO_PATH = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO_PATH = PO_PATH.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
HOW_TO_FIX = (
    "Run `make translations-update` (pybabel extract + update, see Makefile), translate the new or "
    "changed entries in app/translations/en/LC_MESSAGES/messages.po (keep every %(name)s placeholder), "
    "then `make translations` to compile the .mo, and commit the .pot, .po and .mo."
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]")


@pytest.fixture(scope="module")
def catalogue():
    """The English catalogue as parsed from the .po file."""
    with PO_PATH.open("rb") as fh:
        return read_po(fh, locale="en")


def _forms(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _key(msgid) -> str:
    return msgid[0] if isinstance(msgid, (list, tuple)) else msgid


def _english(client, next_url: str = "/login"):
    """Switch this client to English through the footer form; returns the redirect."""
    response = client.post("/lingua", data={"lang": "en", "next": next_url})
    assert response.status_code == 303
    return response


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _untranslated_italian(page: str, catalogue) -> list[str]:
    """Translated msgids (two words or more) that still appear in Italian on an English page."""
    left = []
    for message in catalogue:
        if not message.id or message.pluralizable:
            continue
        if " " in message.id and "%" not in message.id and message.string and message.string != message.id:
            if message.id in page:
                left.append(message.id)
    return left


# --- switching language ------------------------------------------------------------------------


def test_italian_is_the_default(client):
    page = _text(client.get("/login"))
    assert '<html lang="it">' in page
    assert "Accedi all’intranet" in page


def test_switch_to_english_translates_the_login_page(client, catalogue):
    response = _english(client, "/login")
    assert response.headers["Location"].endswith("/login")
    page = _text(client.get("/login"))
    assert '<html lang="en">' in page
    for english in ("Sign in to the intranet", "Forgot your password?", "Skip to content",
                    "Accessibility statement", "Privacy notice", "For young people and families"):
        assert english in page, english
    assert "Accedi all’intranet" not in page
    assert _untranslated_italian(page, catalogue) == []


def test_switch_back_to_italian(client):
    _english(client)
    client.post("/lingua", data={"lang": "it", "next": "/login"})
    page = _text(client.get("/login"))
    assert '<html lang="it">' in page and "Accedi all’intranet" in page


def test_unknown_language_is_ignored_and_next_must_be_local(client):
    response = client.post("/lingua", data={"lang": "xx", "next": "https://evil.example/"})
    assert response.status_code == 303
    assert "evil.example" not in response.headers["Location"]
    assert '<html lang="it">' in _text(client.get("/login"))


def test_english_flash_after_a_failed_sign_in(client, make_user):
    user = make_user("operator")
    _english(client)
    page = _text(client.post("/login", data={"email": user.email, "password": "wrong-password-1"}))
    assert "Incorrect e-mail or password." in page
    assert "E-mail o password non corretti." not in page


@pytest.mark.parametrize(("role", "nav"), [
    ("admin", ["Dashboard", "Desks and hours", "Users", "Partners", "Activity log"]),
    ("operator", ["Dashboard", "Desks and hours", "Appointments", "Young people", "Requests"]),
    ("tutor", ["Dashboard", "Agenda", "Notes"]),
])
def test_signed_in_dashboard_and_navigation_in_english(client, login_as, catalogue, role, nav):
    user = login_as(role)
    _english(client, "/")
    page = _text(client.get("/"))
    assert '<html lang="en">' in page
    assert f"Hello, {user.full_name}" in page
    assert "Sign out" in page and "Main menu" in page
    for label in nav:
        assert f"<span>{label}</span>" in page, label
    assert "Cruscotto" not in page and "Esci" not in page
    assert _untranslated_italian(page, catalogue) == []


def test_error_pages_in_english(client, catalogue):
    _english(client)
    full = client.get("/non-esiste")
    assert full.status_code == 404
    page = _text(full)
    assert '<html lang="en">' in page
    assert "Page not found" in page and "Back to the home page" in page
    assert "Pagina non trovata" not in page
    assert _untranslated_italian(page, catalogue) == []
    fragment = _text(client.get("/non-esiste", headers=htmx()))
    assert "Page not found" in fragment and "<footer" not in fragment
    assert "Action not allowed" in _text(client.post("/healthz"))


def test_language_choice_survives_signing_in(client, make_user):
    user = make_user("operator")
    _english(client)
    client.post("/login", data={"email": user.email, "password": "hub-demo-2026"})
    assert "Sign out" in _text(client.get("/"))


# --- the catalogue itself ----------------------------------------------------------------------


def test_every_source_string_is_in_the_catalogue_and_translated(catalogue):
    """New `_()` strings must be extracted and translated, not silently shown in Italian."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    extracted = {}
    for filename, lineno, msgid, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        extracted.setdefault(_key(msgid), f"{filename}:{lineno}")
    assert len(extracted) > 500, "extraction found too few strings: is babel.cfg still covering app/?"
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in extracted.items() if msgid not in catalogue)
    assert not missing, f"{len(missing)} string(s) not in the English catalogue:\n" + "\n".join(
        missing[:30]) + f"\n{HOW_TO_FIX}"
    untranslated = sorted(
        msgid for msgid in extracted
        if not all(_forms(catalogue[msgid].string)) or catalogue[msgid].fuzzy
    )
    assert not untranslated, f"{len(untranslated)} untranslated or fuzzy entr(y/ies):\n" + "\n".join(
        repr(m) for m in untranslated[:30]) + f"\n{HOW_TO_FIX}"


def test_no_untranslated_or_fuzzy_entries_in_the_po(catalogue):
    left = [m.id for m in catalogue if m.id and (m.fuzzy or not all(_forms(m.string)))]
    assert not left, f"{len(left)} entr(y/ies) without English: {left[:20]!r}\n{HOW_TO_FIX}"


def test_translations_keep_the_same_placeholders(catalogue):
    wrong = []
    for message in catalogue:
        if not message.id:
            continue
        expected = sorted(set(p for form in _forms(message.id) for p in PLACEHOLDER.findall(form)))
        for form in _forms(message.string):
            if form and sorted(set(PLACEHOLDER.findall(form))) != expected:
                wrong.append(f"{_key(message.id)!r} -> {form!r}")
    assert not wrong, "placeholders differ between Italian and English:\n" + "\n".join(wrong)
    assert not list(catalogue.check()), "babel's python-format checks failed"


def test_plural_entries_have_both_english_forms(catalogue):
    assert catalogue.num_plurals == 2
    plurals = [m for m in catalogue if m.id and m.pluralizable]
    assert plurals, "no ngettext entries extracted: check babel.cfg"
    for message in plurals:
        assert len(message.string) == 2 and all(message.string), message.id


def test_compiled_catalogue_matches_the_po(catalogue):
    """The app reads the .mo: a stale one shows Italian even when the .po is complete."""
    with MO_PATH.open("rb") as fh:
        compiled = read_mo(fh)
    stale = [
        _key(m.id) for m in catalogue
        if m.id and (m.id not in compiled or _forms(compiled[m.id].string) != _forms(m.string))
    ]
    assert not stale, f"{len(stale)} entr(y/ies) differ in messages.mo: run `make translations`. {stale[:10]!r}"


def test_audit_labels_follow_the_interface_language(app, catalogue):
    """Labels registered at import time must be lazy (`_l`) and in the catalogue, or English shows Italian."""
    from flask_babel import force_locale

    from app.audit.chain import ACTION_LABELS, OBJECT_TYPE_LABELS

    wrong = []
    for code, label in [*ACTION_LABELS.items(), *OBJECT_TYPE_LABELS.items()]:
        with app.test_request_context(), force_locale("it"):
            italian = str(label)
        with app.test_request_context(), force_locale("en"):
            english = str(label)
        entry = catalogue.get(italian)
        if entry is None:
            wrong.append(f"{code}: {italian!r} is not marked for translation (wrap it in _l())")
        elif english != entry.string:
            wrong.append(f"{code}: {italian!r} stays {english!r} in English (use _l(), not _(), at import time)")
    assert not wrong, "\n".join(wrong)


def test_no_eager_gettext_at_import_time():
    """`_()` outside a function runs once at import, in Italian, for every later request: use `_l()`."""
    import ast

    eager = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside_functions = {
            id(sub)
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for sub in ast.walk(node)
        }
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in {"_", "gettext", "ngettext"} and id(node) not in inside_functions):
                eager.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not eager, "gettext called at import time (use lazy_gettext as _l):\n" + "\n".join(eager)
