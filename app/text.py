"""Searching people's names as they are typed: without case and without accents, the same on both databases.

"nicolo" finds "Nicolò" and "PERCHE" finds "Perché". Python folds the typed words (`fold`); the database
folds the column with the same letters: on PostgreSQL `hub_fold()` (migration 0019, which the folded trigram
indexes hold), on SQLite a GLOB pattern whose every letter is the class of its accented and upper-case forms
(SQLite has no translate(), and one replace() per letter overflows its parser).
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa

from app.extensions import db

# Accented Latin letters folded to their plain letter: the names of the network's people (Italian, and the
# other languages of the families it meets). Migration 0019 holds a copy: changing these needs a migration.
ACCENTED = "àáâãäåāăąèéêëēėęěìíîïīįòóôõöøōőùúûüūůűųýÿçćčñńňśšşșźżžďťțřľĺğ"
PLAIN = "".join("o" if c == "ø" else unicodedata.normalize("NFKD", c)[0] for c in ACCENTED)
FOLD_FROM, FOLD_TO = ACCENTED + ACCENTED.upper(), PLAIN + PLAIN.upper()
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(text: str) -> str:
    """Lower case without accents ("Nicolò" → "nicolo"): the letters `contains_folded()` folds in SQL."""
    return unicodedata.normalize("NFC", text or "").translate(_FOLD_TABLE).lower()


def like_pattern(text: str) -> str:
    """LIKE pattern for "contains `text`", its wildcards taken literally (escape character: backslash)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _glob_class(char: str) -> str:
    """A GLOB character class matching `char` (already folded) in either case and with any of its accents."""
    upper = char.upper()
    variants = {char, *([upper] if len(upper) == 1 else [])} | {a for a in FOLD_FROM if fold(a) == char}
    if len(variants) == 1 and char not in "*?[":
        return char
    return "[" + "".join(sorted(variants)) + "]"


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def folded_pattern(text: str) -> str:
    """The value `contains_folded_param()` compares with, for "contains `text`" (this database's form)."""
    text = fold(text)
    if _postgresql():
        return like_pattern(text)
    return "*" + "".join(_glob_class(c) for c in text) + "*"


def _matches(column, pattern) -> sa.ColumnElement:
    if _postgresql():
        return sa.func.hub_fold(column).like(pattern, escape="\\")
    return column.op("GLOB")(pattern)


def contains_folded(column, text: str) -> sa.ColumnElement:
    """`column` contains `text`, ignoring case and accents (a folded trigram index answers it on PostgreSQL)."""
    return _matches(column, folded_pattern(text))


def contains_folded_param(column, name: str) -> sa.ColumnElement:
    """`contains_folded` with the pattern left to a required parameter `name` (value: `folded_pattern(text)`),
    for a statement built once and run with many searches."""
    return _matches(column, sa.bindparam(name, required=True, type_=sa.String()))
