"""Optimistic versions, one way for every area: the version a form was opened on, and the commit that checks it.

A row with `version_id_col` is updated with "... WHERE id = ? AND version = ?", so the commit itself is the
compare-and-set. A form therefore only has to say which version it was opened on:

- missing, not a number, negative or beyond any column: the form is broken, not stale -> 422 (`submitted`);
- a well-formed number other than the row's: someone saved meanwhile -> the caller's 409 (`check`);
- a write landing between our check and our UPDATE (0 rows matched) -> the same 409 (`commit_or_stale`).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from app.domain import numbers
from app.domain.errors import DomainError, Invalid
from app.extensions import db


def submitted(raw, *, first: int = 1) -> int:
    """The version a form carries; `first` is the lowest valid one (0 where "no row yet" is a version)."""
    version = numbers.int_or_none(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
    if version is None or version < first:
        raise Invalid(_("Il modulo non indica la versione dei dati: ricarica la pagina e riprova."), field="version")
    return version


def check(current: int, raw, stale: Callable[[], DomainError]) -> None:
    """Refuse a form opened on another version than `current` with the caller's own 409."""
    if submitted(raw) != current:
        raise stale()


def commit_or_stale(stale: Callable[[], DomainError]) -> None:
    """Commit; a concurrent write between our read and our UPDATE is the caller's 409, with nothing written."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise stale() from None
