"""Forms of the helpdesk: validation lives in services.validate (one Italian message per field)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TelField, TextAreaField

from app.helpdesk.rules import clean_text


def _clean(value):
    """Filter for every text field: no NUL bytes, no surrounding blanks."""
    return clean_text(value) if isinstance(value, str) else value


F = [_clean]


class RequestForm(FlaskForm):
    """The public request form (/richiesta)."""

    first_name = StringField(_l("Nome"), filters=F, render_kw={"autocomplete": "given-name"})
    age = StringField(_l("Età"), filters=F, render_kw={"inputmode": "numeric", "autocomplete": "off"})
    birth_year = StringField(_l("oppure anno di nascita"), filters=F,
                             render_kw={"inputmode": "numeric", "autocomplete": "bday-year"})
    town = SelectField(_l("Comune dove vivi"), validate_choice=False, filters=F)
    town_other = StringField(_l("Altro comune (se non è nell'elenco)"), filters=F)
    phone = TelField(_l("Telefono"), filters=F, render_kw={"autocomplete": "tel"})
    email = EmailField(_l("E-mail"), filters=F, render_kw={"autocomplete": "email"})
    topic = SelectField(_l("Di che cosa vuoi parlare?"), validate_choice=False, filters=F)
    desk = SelectField(_l("Sportello preferito"), validate_choice=False, filters=F)
    preferred_from = StringField(_l("Disponibile dal giorno"), filters=F)
    preferred_times = StringField(_l("Giorni e orari in cui preferisci"), filters=F)
    message = TextAreaField(_l("Messaggio"), filters=F)
    guardian_name = StringField(_l("Nome del genitore o tutore"), filters=F)
    guardian_contact = StringField(_l("Telefono o e-mail del genitore o tutore"), filters=F)
    guardian_consent = BooleanField(_l("Un genitore o tutore acconsente alla richiesta"))
    privacy_consent = BooleanField(_l("Ho letto l'informativa privacy e acconsento al trattamento dei dati"))
    # Honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Lascia vuoto questo campo"), filters=F)


class IntakeForm(RequestForm):
    """A request taken by staff: the same fields plus the channel and, for schools, who refers."""

    channel = SelectField(_l("Canale"), validate_choice=False, filters=F)
    referrer = StringField(_l("Scuola che segnala"), filters=F)


class StatusForm(FlaskForm):
    """Move a ticket along its lifecycle (closing needs the outcome)."""

    status = SelectField(_l("Nuovo stato"), validate_choice=False, filters=F)
    outcome = SelectField(_l("Esito (per chiudere)"), validate_choice=False, filters=F)
    version = HiddenField()


class CommentForm(FlaskForm):
    """An internal comment."""

    body = TextAreaField(_l("Commento interno"), filters=F)


class PriorityForm(FlaskForm):
    """Urgent or normal, on the version the page showed."""

    urgent = HiddenField()
    version = HiddenField()
