"""Forms of the privacy area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class SearchForm(FlaskForm):
    """Find a young person by name or code (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Nome, cognome o codice"),
                    validators=[Optional(), Length(max=100)])


class ExportForm(FlaskForm):
    """The request behind an export; the format is the button pressed."""

    reason = StringField(_l("Motivo o protocollo della richiesta"), validators=[Optional(), Length(max=300)])


class ErasureForm(FlaskForm):
    """Erasure needs the person's code typed again and a written reason."""

    confirm_code = StringField(_l("Scrivi il codice della persona per confermare"),
                               validators=[Optional(), Length(max=20)], render_kw={"autocomplete": "off"})
    reason = TextAreaField(_l("Motivo della cancellazione (per esempio: richiesta dell'interessato, protocollo n.)"),
                           validators=[Optional(), Length(max=300)])


class WithdrawForm(FlaskForm):
    """A consent withdrawal: only the CSRF token."""
