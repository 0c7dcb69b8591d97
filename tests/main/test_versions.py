"""The one reading of a form's version (app/versions.py): broken forms are 422, never a guess and never stale."""

from __future__ import annotations

import pytest

from app import versions
from app.domain.errors import Invalid, Stale


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), (" 7 ", 7), (3, 3), ("2147483647", 2147483647)])
def test_a_version_is_a_positive_number_a_column_can_hold(app, raw, expected):
    with app.test_request_context():
        assert versions.submitted(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "abc", "0", "-1", "1.5", "2147483648", "9" * 40, True, b"1", ["1"]])
def test_anything_else_is_a_broken_form(app, raw):
    with app.test_request_context(), pytest.raises(Invalid) as refused:
        versions.submitted(raw)
    assert refused.value.status_code == 422 and refused.value.field == "version"


def test_zero_is_a_version_only_where_asked(app):
    """The quarterly texts start at version 0 ("no text yet"); nowhere else is 0 a row's version."""
    with app.test_request_context():
        assert versions.submitted("0", first=0) == 0
        with pytest.raises(Invalid):
            versions.submitted("-1", first=0)


def test_another_well_formed_version_is_the_callers_409(app):
    with app.test_request_context():
        versions.check(4, "4", lambda: Stale("x"))
        with pytest.raises(Stale) as stale:
            versions.check(4, "3", lambda: Stale("cambiato"))
        assert stale.value.status_code == 409 and stale.value.message == "cambiato"
