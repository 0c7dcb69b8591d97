"""Forms of the bookings area: the lifecycle actions (each carries the appointment's version)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice as Choice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.domain import numbers
from app.formatting import ROME
from app.models import CANCELLED_BY, MODES


def int_or_none(value) -> int | None:
    """Coerce a submitted id; garbage (and a number beyond 32 bits) becomes None and is refused by the service."""
    return numbers.int_or_none(value)


def parse_slot(value: str | None) -> tuple[int | None, datetime | None]:
    """A slot button's value "<tutor id>|<ISO instant>" as (tutor id, aware UTC datetime)."""
    if not value or "|" not in value:
        return None, None
    tutor, _sep, instant = value.partition("|")
    try:
        moment = datetime.fromisoformat(instant)
    except ValueError:
        return None, None
    if moment.tzinfo is None:
        return None, None
    return int_or_none(tutor), moment.astimezone(UTC)


def slot_value(tutor_id: int, start: datetime) -> str:
    """The value of a slot button."""
    return f"{tutor_id}|{start.astimezone(UTC).isoformat()}"


def slot_buttons(slots: Iterable, tutors: dict, *, per_day: int, one_tutor: bool = False,
                 days: int | None = None) -> tuple[OrderedDict[date, list[tuple[str, object, str]]], date | None]:
    """A picker's slot buttons by local day: (time "HH:MM", tutor, button value), at most `per_day` a day.

    Slots of tutors not in `tutors` (id -> tutor) are left out. Across tutors (not `one_tutor`) one button per
    time, with the first free tutor. With `days`, stops at the first slot of one more day and returns that day
    (where "Giorni successivi" starts); otherwise, or when the slots end first, the day returned is None.
    """
    groups: OrderedDict[date, list[tuple[str, object, str]]] = OrderedDict()
    last_start = None
    for slot in slots:
        tutor = tutors.get(slot.tutor_id)
        if tutor is None:
            continue
        local = slot.start.astimezone(ROME)
        day = local.date()
        if days is not None and day not in groups and len(groups) >= days:
            return groups, day
        items = groups.setdefault(day, [])
        if len(items) < per_day and (one_tutor or not items or last_start != slot.start):
            items.append((local.strftime("%H:%M"), tutor, slot_value(slot.tutor_id, slot.start)))
            last_start = slot.start
    return groups, None


class VersionedForm(FlaskForm):
    """Every change to an appointment sends the version the form was built from."""

    version = HiddenField()


class StatusForm(VersionedForm):
    """Confirm, attended, no-show."""

    action = HiddenField()


class CancelForm(VersionedForm):
    """Cancel with who asked and why."""

    by_kind = SelectField(_l("Chi annulla"), choices=[Choice(k, v) for k, v in CANCELLED_BY.items()])
    reason = TextAreaField(_l("Motivo"), validators=[DataRequired(message=_l("Scrivi il motivo.")),
                                                     Length(max=300)])


class BookForm(FlaskForm):
    """The last step of the booking stepper: a slot button, the mode, optionally a weekly path."""

    person = HiddenField()
    desk = HiddenField()
    service = HiddenField()
    slot = HiddenField()
    mode = SelectField(_l("Modalità"), choices=[Choice(k, v) for k, v in MODES.items()], default="presenza")
    sessions = IntegerField(_l("Incontri settimanali da prenotare"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=20)])
    confirm_path = HiddenField(default="")
    override_start = StringField(_l("Inizio (gg/mm/aaaa hh:mm)"), validators=[Optional(), Length(max=20)])
    override_reason = TextAreaField(_l("Motivo della deroga"), validators=[Optional(), Length(max=2000)])
    override_tutor = SelectField(_l("Tutor"), coerce=int_or_none, validate_choice=False)
