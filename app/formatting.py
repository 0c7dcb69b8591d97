"""Jinja filters: Italian dates (gg/mm/aaaa), 24-hour times, Europe/Rome; `_()` in templates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from jinja2 import pass_context
from markupsafe import Markup

ROME = ZoneInfo("Europe/Rome")


def to_local(value: datetime) -> datetime:
    """An aware UTC instant as Europe/Rome local time."""
    return value.astimezone(ROME)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = to_local(value)
    return value.strftime("%H:%M")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{format_date(value)} {format_time(value)}"


def N_(message: str) -> str:  # noqa: N802 - Babel's marker name: extracted, translated later
    """Mark a message for the catalogue without translating it here."""
    return message


_WEEKDAYS = (N_("lunedì"), N_("martedì"), N_("mercoledì"), N_("giovedì"), N_("venerdì"), N_("sabato"),
             N_("domenica"))


def weekday_name(index: int) -> str:
    """Monday = 0, in the interface language (one catalogue lookup; the picker asks once per day shown)."""
    return _translations().ugettext(_WEEKDAYS[index])


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(format_date, "date_it")
    app.add_template_filter(format_time, "time_it")
    app.add_template_filter(format_datetime, "datetime_it")
    app.add_template_filter(weekday_name, "weekday")
    register_globals(app)
    install_gettext(app)


def _translations():
    """The request's catalogue, looked up once per request and locale.

    Flask-Babel resolves the domain, the locale and the catalogue's cache key on every call (a page
    has some thirty `_()`); the locale is still asked each time, so force_locale() and refresh() apply.
    """
    locale = get_locale()
    if locale is None:  # outside an app context: Flask-Babel's null catalogue
        return get_translations()
    cached = g.get("_hub_translations")
    if cached is None or cached[0] is not locale:
        cached = g._hub_translations = (locale, get_translations())
    return cached[1]


@pass_context
def _template_gettext(context, string: str, **variables) -> str:
    """`_()` in templates: Jinja's new-style gettext (escaped, always %-formatted), one call instead of three."""
    rv = _translations().ugettext(string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)  # noqa: S704 - our own catalogue, as in Jinja's new-style gettext
    return rv % variables


def install_gettext(app: Flask) -> None:
    """Templates translate through the request's cached catalogue (after Flask-Babel's own install)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = _template_gettext


def role_label(role: str) -> str:
    """The role's name in the interface language."""
    labels = {
        "admin": _("Amministrazione (Ufficio di Piano)"),
        "coordinator": _("Coordinamento"),
        "operator": _("Operatore di sportello"),
        "tutor": _("Tutor"),
        "municipal_contact": _("Referente comunale"),
        "observer": _("Osservatore (monitoraggio)"),
    }
    return labels.get(role, role)


def organisation_kind_label(kind: str) -> str:
    """The partner kind's name in the interface language."""
    labels = {
        "municipality": _("Comune"),
        "association": _("Associazione"),
        "foundation": _("Fondazione"),
        "metropolitan_authority": _("Città metropolitana"),
        "district_office": _("Ufficio di Piano"),
    }
    return labels.get(kind, kind)


def register_globals(app: Flask) -> None:
    """Template globals shared by every page."""
    from flask_babel import get_locale

    app.jinja_env.globals.update(
        current_locale=lambda: str(get_locale() or "it"),
        role_label=role_label,
        organisation_kind_label=organisation_kind_label,
    )
