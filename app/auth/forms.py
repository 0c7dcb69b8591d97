"""Forms of the sign-in area."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("Indirizzo e-mail"), validators=[DataRequired(_l("Inserisci l'indirizzo e-mail.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Inserisci la password.")), Length(max=128)])
    next = StringField()


class ChangePasswordForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = PasswordField(_l("Password attuale"), validators=[DataRequired(_l("Inserisci la password attuale.")), Length(max=128)])
    new_password = PasswordField(_l("Nuova password"), validators=[DataRequired(_l("Inserisci la nuova password.")), Length(max=128)])
    confirm = PasswordField(
        _l("Ripeti la nuova password"),
        validators=[DataRequired(_l("Ripeti la nuova password.")), EqualTo("new_password", _l("Le due password non coincidono."))],
    )


class ResetRequestForm(FlaskForm):
    """The e-mail to send a reset link to."""

    email = EmailField(_l("Indirizzo e-mail"), validators=[DataRequired(_l("Inserisci l'indirizzo e-mail.")), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    """The new password, twice."""

    new_password = PasswordField(_l("Nuova password"), validators=[DataRequired(_l("Inserisci la nuova password.")), Length(max=128)])
    confirm = PasswordField(
        _l("Ripeti la nuova password"),
        validators=[DataRequired(_l("Ripeti la nuova password.")), EqualTo("new_password", _l("Le due password non coincidono."))],
    )


class CodeForm(FlaskForm):
    """A 6-digit code from the authenticator app (or, at sign-in, a recovery code)."""

    code = StringField(_l("Codice di verifica"), validators=[DataRequired(_l("Inserisci il codice.")), Length(max=64)])
