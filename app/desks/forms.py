"""Forms of the desks area. The weekly grid of intervals is parsed by `parse_week_grid`."""

from __future__ import annotations

from datetime import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice as Choice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.desks.services import Weekly
from app.domain import numbers
from app.domain.errors import Invalid
from app.formatting import weekday_name
from app.models import ABSENCE_KINDS, DESK_SERVICES

# Rows of the weekly grid: how many intervals a weekday can have in one form.
GRID_ROWS = 3


def _coerce_id(value) -> int:
    """A submitted id; garbage and numbers beyond 32 bits are refused (WTForms shows "invalid choice")."""
    number = numbers.int_or_none(value)
    if number is None:
        raise ValueError(value)
    return number


def _coerce_int_or_none(value):
    return _coerce_id(value) if value not in (None, "", "None") else None


class DeskForm(FlaskForm):
    """A desk's details, services and staff (Ufficio di Piano)."""

    name = StringField(_l("Nome dello sportello"), validators=[DataRequired(), Length(max=160)])
    municipality_id = SelectField(_l("Comune"), coerce=_coerce_int_or_none, validators=[DataRequired()],
                                  validate_choice=False)
    partner_id = SelectField(_l("Ente gestore"), coerce=_coerce_int_or_none, validators=[DataRequired()],
                             validate_choice=False)
    address = StringField(_l("Indirizzo"), validators=[Optional(), Length(max=200)])
    rooms = IntegerField(_l("Stanze (colloqui contemporanei)"), default=1,
                         validators=[DataRequired(), NumberRange(min=1, max=50)])
    phone = StringField(_l("Telefono"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    notes = TextAreaField(_l("Note per il personale"), validators=[Optional(), Length(max=2000)])
    active = BooleanField(_l("Sportello attivo"), default=True)
    slot_minutes = IntegerField(_l("Durata di un colloquio (minuti)"), default=45,
                                validators=[DataRequired(), NumberRange(min=5, max=480)])
    buffer_minutes = IntegerField(_l("Pausa tra colloqui (minuti)"), default=15,
                                  validators=[Optional(), NumberRange(min=0, max=240)])
    min_notice_minutes = IntegerField(_l("Preavviso minimo (minuti)"), default=120,
                                      validators=[Optional(), NumberRange(min=0, max=20160)])
    services = SelectMultipleField(_l("Servizi offerti"), choices=[], validate_choice=False)
    operator_ids = SelectMultipleField(_l("Operatori"), coerce=_coerce_id, choices=[], validate_choice=False)
    tutor_ids = SelectMultipleField(_l("Tutor"), coerce=_coerce_id, choices=[], validate_choice=False)
    version = HiddenField()  # the desk's version when the form was opened (checked on save)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.services.choices = [Choice(code, str(label)) for code, label in DESK_SERVICES.items()]


class ScheduleForm(FlaskForm):
    """Name and validity of a weekly schedule (the intervals come from the grid)."""

    name = StringField(_l("Nome dell'orario"), validators=[DataRequired(), Length(max=100)],
                       default=_l("Orario"))
    valid_from = DateField(_l("Valido dal"), validators=[DataRequired()])
    valid_to = DateField(_l("Valido fino al (facoltativo)"), validators=[Optional()])
    desk_ids = SelectMultipleField(_l("Sportelli"), coerce=_coerce_id, choices=[], validate_choice=False)


class ClosureForm(FlaskForm):
    """A closure: whole days, or part of a day when times are given."""

    scope = SelectField(_l("Ambito"), choices=[Choice("desk", _l("Sportelli scelti")),
                                               Choice("municipality", _l("Tutti gli sportelli di un comune")),
                                               Choice("all", _l("Tutti gli sportelli della rete"))], default="desk",
                        validate_choice=False)
    desk_ids = SelectMultipleField(_l("Sportelli"), coerce=_coerce_id, choices=[], validate_choice=False)
    municipality_id = SelectField(_l("Comune"), coerce=_coerce_int_or_none, choices=[], validate_choice=False)
    start_day = DateField(_l("Dal giorno"), validators=[DataRequired()])
    end_day = DateField(_l("Al giorno (facoltativo)"), validators=[Optional()])
    start_time = TimeField(_l("Dalle ore (facoltativo)"), validators=[Optional()])
    end_time = TimeField(_l("Alle ore (facoltativo)"), validators=[Optional()])
    reason = StringField(_l("Motivo (visibile al personale)"), validators=[DataRequired(), Length(max=200)])


class ExtraOpeningForm(FlaskForm):
    """An opening on a date outside the weekly hours."""

    day = DateField(_l("Giorno"), validators=[DataRequired()])
    start = TimeField(_l("Dalle ore"), validators=[DataRequired()])
    end = TimeField(_l("Alle ore"), validators=[DataRequired()])
    note = StringField(_l("Nota"), validators=[Optional(), Length(max=200)])


class AvailabilityForm(FlaskForm):
    """A tutor's weekly availability at a desk (the intervals come from the grid)."""

    tutor_id = SelectField(_l("Tutor"), coerce=_coerce_int_or_none, choices=[], validators=[DataRequired()],
                           validate_choice=False)
    valid_from = DateField(_l("Valida dal"), validators=[DataRequired()])
    valid_to = DateField(_l("Valida fino al (facoltativo)"), validators=[Optional()])


class AbsenceForm(FlaskForm):
    """A tutor's absence over whole days."""

    tutor_id = SelectField(_l("Tutor"), coerce=_coerce_int_or_none, choices=[], validators=[DataRequired()],
                           validate_choice=False)
    kind = SelectField(_l("Tipo"), choices=[], validate_choice=False)
    start_day = DateField(_l("Dal giorno"), validators=[DataRequired()])
    end_day = DateField(_l("Al giorno (compreso)"), validators=[Optional()])
    note = StringField(_l("Nota"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [Choice(code, str(label)) for code, label in ABSENCE_KINDS.items()]


class PatronForm(FlaskForm):
    """A town's patron-saint day (empty = not configured)."""

    patron_saint = StringField(_l("Santo patrono"), validators=[Optional(), Length(max=80)])
    patron_day = IntegerField(_l("Giorno"), validators=[Optional(), NumberRange(min=1, max=31)])
    patron_month = IntegerField(_l("Mese"), validators=[Optional(), NumberRange(min=1, max=12)])
    version = HiddenField()  # the town's version when the page was opened (checked on save)


def _parse_time(raw: str) -> time | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return time.fromisoformat(raw.replace(".", ":"))
    except ValueError:
        pass
    raise Invalid(_("«%(value)s»: ora non valida (usa il formato 24 ore, ad esempio 09:30).", value=raw),
                  field="intervals")


def parse_week_grid(form_data, rows: int = GRID_ROWS) -> list[Weekly]:
    """Read fields `w{weekday}_{row}_start/end` into weekly intervals; a half-filled row is an error."""
    intervals = []
    for weekday in range(7):
        for row in range(rows):
            start = _parse_time(form_data.get(f"w{weekday}_{row}_start", ""))
            end = _parse_time(form_data.get(f"w{weekday}_{row}_end", ""))
            if start is None and end is None:
                continue
            if start is None or end is None:
                raise Invalid(_("%(day)s: indica sia l'ora di inizio sia quella di fine.",
                                day=weekday_name(weekday).capitalize()), field="intervals")
            intervals.append(Weekly(weekday, start, end))
    return intervals


def week_grid_values(intervals, rows: int = GRID_ROWS) -> dict[str, str]:
    """The grid's field values for existing intervals (to prefill the form)."""
    values: dict[str, str] = {}
    count = [0] * 7
    for item in sorted(intervals, key=lambda i: (i.weekday, i.start)):
        row = count[item.weekday]
        if row >= rows:
            continue
        values[f"w{item.weekday}_{row}_start"] = item.start.strftime("%H:%M")
        values[f"w{item.weekday}_{row}_end"] = item.end.strftime("%H:%M")
        count[item.weekday] += 1
    return values
