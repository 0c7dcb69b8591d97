"""Forms of the young people's register."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, SearchField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice as Choice
from wtforms.validators import DataRequired, Length, Optional

from app.domain import numbers
from app.models import CHANNELS, GENDERS, STUDY_WORK_STATUSES


def int_or_none(value) -> int | None:
    """Coerce a submitted id; garbage (and a number beyond 32 bits) becomes None and is refused by the service."""
    return numbers.int_or_none(value)


def _required():
    return DataRequired(message=_l("Campo obbligatorio."))


def _max(n: int):
    return Length(max=n, message=_l("Al massimo %(max)d caratteri.", max=n))


class SearchForm(FlaskForm):
    """Active search by name or code (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Cerca per nome, cognome o codice"), validators=[Optional(), _max(100)])


class PersonForm(FlaskForm):
    """Registration of a young person: the minimum the programme needs."""

    first_name = StringField(_l("Nome"), validators=[_required(), _max(80)])
    last_name = StringField(_l("Cognome"), validators=[_required(), _max(80)])
    birth_date = DateField(_l("Data di nascita"), validators=[_required()],
                           render_kw={"autocomplete": "off"})
    gender = SelectField(_l("Genere"), choices=[Choice("", "—")] + [Choice(k, v) for k, v in GENDERS.items()],
                         validators=[_required()])
    residence_town_id = SelectField(_l("Comune di residenza"), coerce=int_or_none, validate_choice=False)
    residence_other = StringField(_l("Altro comune (se non è nell'elenco)"), validators=[Optional(), _max(80)])
    study_work_status = SelectField(_l("Studio o lavoro"),
                                    choices=[Choice("", "—")] + [Choice(k, v) for k, v in STUDY_WORK_STATUSES.items()],
                                    validators=[_required()])
    school = StringField(_l("Scuola o corso"), validators=[Optional(), _max(160)])
    phone = TelField(_l("Telefono"), validators=[Optional(), _max(40)])
    email = EmailField(_l("E-mail"), validators=[Optional(), _max(254)])
    preferred_channel = SelectField(_l("Canale preferito"), choices=[Choice(k, v) for k, v in CHANNELS.items()])
    guardian_name = StringField(_l("Genitore o tutore: nome"), validators=[Optional(), _max(120)])
    guardian_contact = StringField(_l("Genitore o tutore: telefono o e-mail"), validators=[Optional(), _max(160)])
    guardian_consent = BooleanField(_l("Il genitore o tutore ha dato il consenso (obbligatorio sotto i 14 anni)"))
    privacy_consent = BooleanField(_l("Ho letto l'informativa privacy alla persona e ho raccolto il consenso"))
    protected = BooleanField(_l("Scheda riservata (solo il tutor di riferimento e il suo coordinamento la vedono)"))
    tutor_id = SelectField(_l("Tutor di riferimento"), coerce=int_or_none, validate_choice=False)
    registered_desk_id = SelectField(_l("Sportello di registrazione"), coerce=int_or_none, validate_choice=False)
    # Set when the operator has seen the possible duplicates and registers anyway.
    confirm_new = HiddenField(default="")
    # Where to continue afterwards (the booking stepper), a same-site path.
    next = HiddenField(default="")
