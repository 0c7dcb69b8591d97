"""Domain errors raised by services; one handler turns them into HTTP answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `message` is shown to the user (already in Italian/translated)."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist or is outside the actor's scope."""

    status_code = 404


class Forbidden(DomainError):
    """The actor may not do this to this object."""

    status_code = 403


class Conflict(DomainError):
    """Someone else changed or took it first (double booking, stale version)."""

    status_code = 409


class Stale(Conflict):
    """The form was opened on an older version of the row: nothing was written (409, see app/versions.py)."""


class Invalid(DomainError):
    """The input breaks a rule; the form is shown again with the message."""

    status_code = 422


class FormInvalid(Invalid):
    """The form's own validators refused it: the messages are already next to its fields."""
