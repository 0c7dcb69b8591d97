"""Whole numbers typed into forms and addresses.

Ids, revisions and counts are 32-bit database integers: a larger number cannot name anything, and
handed to the database it is an error (SQLite overflows beyond 64 bits, PostgreSQL refuses to compare
or store it), so it is treated like any other garbage: no number at all.
"""

from __future__ import annotations

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def int_or_none(value) -> int | None:
    """The integer in a submitted value, or None for garbage and for numbers no column can hold."""
    try:
        number = int(value)
    except (TypeError, ValueError):  # int() also refuses digit strings beyond Python's limit
        return None
    return number if INT32_MIN <= number <= INT32_MAX else None
