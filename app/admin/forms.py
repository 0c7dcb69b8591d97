"""Forms of the administration area: accounts and partner organisations.

Choices that depend on the actor (roles, organisations) are filled in by the
views from the policy module; the services check them again, so a tampered
form gets an Italian message next to the field instead of WTForms' English one.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice as Choice
from wtforms.validators import DataRequired, Length, Optional

from app.domain import numbers
from app.models import OrganisationKind


def int_or_none(value) -> int | None:
    """Coerce a submitted id; garbage (and a number beyond 32 bits) becomes None and is refused by the service."""
    return numbers.int_or_none(value)


def _too_long(n: int):
    return Length(max=n, message=_l("Al massimo %(max)d caratteri.", max=n))


class UserFilterForm(FlaskForm):
    """Active search over accounts (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Cerca per nome o e-mail"), validators=[Optional(), _too_long(100)])
    role = SelectField(_l("Ruolo"), validate_choice=False)
    organisation = SelectField(_l("Organizzazione"), coerce=int_or_none, validate_choice=False)
    status = SelectField(
        _l("Stato"),
        choices=[Choice("", _l("Tutti")), Choice("active", _l("Attivi")), Choice("inactive", _l("Disattivati"))],
        validate_choice=False,
    )


class UserForm(FlaskForm):
    """Name, role and organisation of an account; the e-mail only when creating it."""

    full_name = StringField(
        _l("Nome e cognome"), validators=[DataRequired(_l("Inserisci nome e cognome.")), _too_long(120)]
    )
    email = StringField(
        _l("Indirizzo e-mail"), validators=[DataRequired(_l("Inserisci l'indirizzo e-mail.")), _too_long(254)]
    )
    role = SelectField(_l("Ruolo"), validators=[DataRequired(_l("Scegli un ruolo."))], validate_choice=False)
    organisation_id = SelectField(
        _l("Organizzazione"), validators=[DataRequired(_l("Scegli un'organizzazione."))],
        coerce=int_or_none, validate_choice=False,
    )
    version = HiddenField()

    def set_choices(self, roles, organisations, role_label) -> None:
        """Offer only what the actor may assign (from the policy)."""
        self.role.choices = [Choice("", _l("Scegli un ruolo"))] + [Choice(r, role_label(r)) for r in roles]
        self.organisation_id.choices = [Choice("", _l("Scegli un'organizzazione"))] + [
            Choice(o.id, o.name) for o in organisations
        ]


class OrganisationForm(FlaskForm):
    """A partner of the network."""

    name = StringField(
        _l("Nome completo"), validators=[DataRequired(_l("Inserisci il nome del partner.")), _too_long(160)]
    )
    short_name = StringField(
        _l("Nome breve"), validators=[DataRequired(_l("Inserisci un nome breve.")), _too_long(60)]
    )
    kind = SelectField(_l("Tipo"), validators=[DataRequired(_l("Scegli il tipo di partner."))], validate_choice=False)
    istat_code = StringField(_l("Codice ISTAT"), validators=[Optional(), _too_long(6)])
    role_in_programme = StringField(_l("Ruolo nel progetto"), validators=[Optional(), _too_long(200)])
    address = StringField(_l("Indirizzo"), validators=[Optional(), _too_long(200)])
    email = StringField(_l("E-mail"), validators=[Optional(), _too_long(254)])
    phone = StringField(_l("Telefono"), validators=[Optional(), _too_long(40)])
    website = StringField(_l("Sito web"), validators=[Optional(), _too_long(200)])
    active = BooleanField(_l("Partner attivo"), default=True)
    version = HiddenField()

    def set_choices(self, kind_label) -> None:
        """The known partner kinds, labelled in the interface language."""
        self.kind.choices = [Choice("", _l("Scegli il tipo"))] + [Choice(k, kind_label(k)) for k in OrganisationKind.ALL]
