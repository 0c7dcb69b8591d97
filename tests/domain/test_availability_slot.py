"""`Slot` keeps the public behaviour of the frozen dataclass it was (it is a tuple underneath, for speed)."""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from app.domain.availability import Slot

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
END = datetime(2026, 3, 2, 9, 45, tzinfo=UTC)


def test_fields_keywords_and_repr():
    slot = Slot(desk_id=1, tutor_id=2, start=START, end=END)
    assert (slot.desk_id, slot.tutor_id, slot.start, slot.end) == (1, 2, START, END)
    assert slot == Slot(1, 2, START, END)
    assert repr(slot) == f"Slot(desk_id=1, tutor_id=2, start={START!r}, end={END!r})"


def test_equality_hash_and_no_order():
    slot = Slot(1, 2, START, END)
    assert slot != (1, 2, START, END)  # only equal to another Slot, as the dataclass was
    assert slot != Slot(1, 3, START, END)
    assert hash(slot) == hash((1, 2, START, END))
    assert len({slot, Slot(1, 2, START, END)}) == 1
    with pytest.raises(TypeError):
        _ = slot < Slot(1, 3, START, END)


def test_immutable_and_copyable():
    slot = Slot(1, 2, START, END)
    with pytest.raises(FrozenInstanceError):
        slot.tutor_id = 3
    with pytest.raises(FrozenInstanceError):
        slot.other = 3
    assert copy.deepcopy(slot) == slot and copy.copy(slot) == slot
    match slot:
        case Slot(desk_id, tutor_id, start, end):
            assert (desk_id, tutor_id, start, end) == (1, 2, START, END)


def test_plain_tuple_never_equal_either_side():
    slot = Slot(1, 2, START, END)
    assert (1, 2, START, END) != slot
    assert not ((1, 2, START, END) == slot)
    with pytest.raises(TypeError):
        _ = (1, 2, START, END) < slot
