"""Filters of the audit screen (GET: no CSRF, nothing changes)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SearchField, SelectField
from wtforms.validators import Length, Optional, ValidationError

from app.domain import numbers


def int_or_none(value) -> int | None:
    """Coerce a submitted id; garbage, zero and negatives become None (no filter)."""
    number = numbers.int_or_none(value)
    return number if number is not None and number > 0 else None


class AuditFilterForm(FlaskForm):
    """Period, actor, action, object type and free text."""

    class Meta:
        csrf = False

    date_from = DateField(_l("Dal"), validators=[Optional()],
                          render_kw={"placeholder": "gg/mm/aaaa"})
    date_to = DateField(_l("Al"), validators=[Optional()], render_kw={"placeholder": "gg/mm/aaaa"})
    actor = SelectField(_l("Utente"), coerce=int_or_none, validate_choice=False)
    action = SelectField(_l("Azione"), validate_choice=False)
    object_type = SelectField(_l("Tipo di oggetto"), validate_choice=False)
    q = SearchField(_l("Cerca (nome o e-mail dell'utente, codice azione, id oggetto)"),
                    validators=[Optional(), Length(max=100, message=_l("Al massimo %(max)d caratteri.", max=100))])

    def validate_date_to(self, field) -> None:
        """The period must not end before it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("La data finale è precedente a quella iniziale."))
