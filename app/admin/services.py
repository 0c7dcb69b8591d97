"""Use cases of administration: staff accounts and partner organisations.

Each function takes the acting user, checks the rules that are not a plain
permission (scope, last administrator, self-deactivation, stale versions) and
raises `app.domain.errors` for the error handler or the view to show.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import audit, versions
from app.auth.services import hash_password, normalise_email, queue_invitation
from app.auth.sessions import revoke_all_sessions
from app.domain.errors import Conflict, Invalid, Stale
from app.extensions import db
from app.formatting import format_date, format_time
from app.models import Organisation, OrganisationKind, Role, User
from app.policy import assignable_organisations, assignable_roles, scoped_users
from app.text import contains_folded, fold, like_pattern

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
ISTAT_RE = re.compile(r"^\d{6}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ./-]{4,38}$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$", re.IGNORECASE)



def _stale() -> Stale:
    return Stale(_("Qualcun altro ha modificato questo account mentre lo stavi modificando: "
                      "le tue modifiche non sono state salvate. Controlla i dati aggiornati e riprova."))


# --- Accounts ----------------------------------------------------------------

@dataclass
class UserFilters:
    """What the active search asks for; empty values mean "any"."""

    q: str = ""
    role: str = ""
    organisation_id: int | None = None
    status: str = ""


@dataclass
class Page:
    """One page of a list, with the numbers its pagination shows."""

    items: list
    total: int
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        """Position of the first item shown (1-based; 0 when the list is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: first, last and a few around the current one (None = gap)."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        shown: list[int | None] = []
        for n in sorted(n for n in wanted if 1 <= n <= self.pages):
            if shown and n - shown[-1] > 1:  # type: ignore[operator]
                shown.append(None)
            shown.append(n)
        return shown


USERS_PER_PAGE = 25  # a page renders in ~30 ms of Python (each row: role label, forms, CSRF token)


def _filtered_users(query: sa.Select, actor: User, filters: UserFilters) -> sa.Select:
    """The actor's scope (in the query) narrowed by the filters; every word must match the name or the e-mail."""
    query = scoped_users(query, actor)
    for word in fold(filters.q.replace("\x00", "")).split()[:4]:
        pattern = like_pattern(word)
        query = query.where(sa.or_(contains_folded(User.full_name, word),
                                   sa.func.lower(User.email).like(pattern, escape="\\")))
    if filters.role in Role.ALL:
        query = query.where(User.role == filters.role)
    if filters.organisation_id:
        query = query.where(User.organisation_id == filters.organisation_id)
    if filters.status == "active":
        query = query.where(User.active.is_(True))
    elif filters.status == "inactive":
        query = query.where(User.active.is_(False))
    return query


def search_users(actor: User, filters: UserFilters, page: int = 1, per_page: int | None = None) -> Page:
    """One page of the accounts in the actor's scope that match the filters, by name (ix_users_full_name)."""
    per_page = per_page or USERS_PER_PAGE
    total = db.session.scalar(_filtered_users(sa.select(sa.func.count(User.id)), actor, filters)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    # The organisation is joined by the relationship (lazy="joined"): one statement for the page.
    query = _filtered_users(sa.select(User), actor, filters).order_by(User.full_name, User.id)
    items = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).unique())
    return Page(items=items, total=total, page=page, pages=pages, per_page=per_page)


def _check_assignment(actor: User, role: str, organisation_id: int | None, keep_org: int | None = None) -> None:
    """The role and organisation must be among those the actor may hand out."""
    if role not in assignable_roles(actor):
        raise Invalid(_("Scegli uno dei ruoli proposti."), field="role")
    allowed = {o.id for o in assignable_organisations(actor)}
    if keep_org is not None:
        allowed.add(keep_org)  # an account in scope may stay where it is, even in a since-deactivated partner
    if organisation_id not in allowed:
        raise Invalid(_("Scegli una delle organizzazioni proposte."), field="organisation_id")


def _clean_name(full_name: str) -> str:
    name = " ".join((full_name or "").split())
    if not name:
        raise Invalid(_("Inserisci nome e cognome."), field="full_name")
    if len(name) > 120:
        raise Invalid(_("Al massimo %(max)d caratteri.", max=120), field="full_name")
    return name


def create_user(actor: User, *, full_name: str, email: str, role: str, organisation_id: int | None) -> User:
    """Create an account and e-mail the person a link to choose their password."""
    name = _clean_name(full_name)
    address = normalise_email(email)
    if not EMAIL_RE.match(address) or len(address) > 254:
        raise Invalid(_("Indirizzo e-mail non valido."), field="email")
    _check_assignment(actor, role, organisation_id)
    if db.session.scalar(sa.select(User.id).where(User.email == address)) is not None:
        raise Invalid(_("Esiste già un account con questo indirizzo e-mail."), field="email")
    # Nobody knows this password: the person chooses theirs through the invitation.
    user = User(full_name=name, email=address, role=role, organisation_id=organisation_id,
                password_hash=hash_password(secrets.token_urlsafe(32)))
    db.session.add(user)
    try:
        db.session.flush()
        queue_invitation(user)
        audit.record("user.created", actor=actor, object_type="user", object_id=user.id,
                     details={"role": role, "organisation_id": organisation_id})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Invalid(_("Esiste già un account con questo indirizzo e-mail."), field="email") from None
    return user


def resend_invitation(actor: User, target: User) -> None:
    """Send a fresh link to choose a password (the old links stop working only once one is used)."""
    if not target.active:
        raise Invalid(_("L'account è disattivato: riattivalo prima di inviare il collegamento."))
    queue_invitation(target)
    db.session.commit()


def _other_active_admins(target: User) -> list[int]:
    """Ids of active administrators other than target.

    Every active administrator row is locked until commit (PostgreSQL), so two
    administrators deactivating each other at once cannot both succeed.
    """
    query = (
        sa.select(User.id)
        .join(User.organisation)
        .where(User.role == Role.ADMIN, User.active.is_(True), Organisation.active.is_(True))
        .with_for_update(of=User)
    )
    return [user_id for user_id in db.session.scalars(query) if user_id != target.id]


def _ensure_not_last_admin(target: User) -> None:
    """Refuse a change that would leave the network without an active administrator."""
    if target.role == Role.ADMIN and target.is_active and not _other_active_admins(target):
        raise Conflict(_("%(name)s è l'ultimo amministratore attivo: prima abilita un altro amministratore.",
                         name=target.full_name))


def update_user(actor: User, target: User, *, full_name: str, role: str, organisation_id: int | None,
                version) -> User:
    """Change name, role and organisation, refusing a form built on an older version."""
    versions.check(target.version, version, _stale)
    name = _clean_name(full_name)
    _check_assignment(actor, role, organisation_id, keep_org=target.organisation_id)
    if target.id == actor.id and role != target.role:
        raise Invalid(_("Non puoi cambiare il tuo ruolo: chiedilo a un altro amministratore."), field="role")
    if role != Role.ADMIN:
        _ensure_not_last_admin(target)
    if role != target.role:
        audit.record("user.role_changed", actor=actor, object_type="user", object_id=target.id,
                     details={"from": target.role, "to": role})
    if organisation_id != target.organisation_id:
        audit.record("user.scope_changed", actor=actor, object_type="user", object_id=target.id,
                     details={"from_organisation_id": target.organisation_id, "to_organisation_id": organisation_id})
    target.full_name, target.role, target.organisation_id = name, role, organisation_id
    versions.commit_or_stale(_stale)
    return target


def set_user_active(actor: User, target: User, active: bool, version) -> User:
    """Deactivate (closing every session) or reactivate an account."""
    versions.check(target.version, version, _stale)
    if active == target.active:
        return target
    if not active:
        if target.id == actor.id:
            raise Invalid(_("Non puoi disattivare il tuo account."))
        _ensure_not_last_admin(target)
        target.active = False
        revoke_all_sessions(target.id)
    else:
        target.active = True
    audit.record("user.reactivated" if active else "user.deactivated", actor=actor, object_type="user",
                 object_id=target.id)
    versions.commit_or_stale(_stale)
    return target


# --- Partner organisations ------------------------------------------------------

@dataclass
class OrganisationData:
    """The editable fields of a partner, as submitted."""

    name: str
    short_name: str
    kind: str
    istat_code: str = ""
    role_in_programme: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    active: bool = True


def _clean_organisation(data: OrganisationData, current: Organisation | None) -> dict:
    """Normalise and check the fields; raise Invalid on the first wrong one."""
    values = {
        "name": " ".join((data.name or "").split()),
        "short_name": " ".join((data.short_name or "").split()),
        "kind": data.kind or "",
        "istat_code": (data.istat_code or "").strip() or None,
        "role_in_programme": (data.role_in_programme or "").strip(),
        "address": " ".join((data.address or "").split()),
        "email": normalise_email(data.email),
        "phone": " ".join((data.phone or "").split()),
        "website": (data.website or "").strip(),
        "active": bool(data.active),
    }
    if not values["name"]:
        raise Invalid(_("Inserisci il nome del partner."), field="name")
    if not values["short_name"]:
        raise Invalid(_("Inserisci un nome breve."), field="short_name")
    if values["kind"] not in OrganisationKind.ALL:
        raise Invalid(_("Scegli uno dei tipi proposti."), field="kind")
    # The code is optional (the seed leaves it empty rather than guess it), never wrong.
    if values["kind"] == OrganisationKind.MUNICIPALITY:
        if values["istat_code"] is not None and not ISTAT_RE.match(values["istat_code"]):
            raise Invalid(_("Il codice ISTAT è formato da 6 cifre (per esempio 015175)."), field="istat_code")
    elif values["istat_code"] is not None:
        raise Invalid(_("Il codice ISTAT si indica solo per i Comuni: lascia vuoto il campo."), field="istat_code")
    elif current is not None and getattr(current, "patron_month", None) is not None:
        raise Invalid(_("Questo Comune ha un giorno del patrono: toglilo prima di cambiare il tipo."), field="kind")
    if values["email"] and not EMAIL_RE.match(values["email"]):
        raise Invalid(_("Indirizzo e-mail non valido."), field="email")
    if values["phone"] and not PHONE_RE.match(values["phone"]):
        raise Invalid(_("Numero di telefono non valido: usa solo cifre, spazi e il prefisso +."), field="phone")
    if values["website"] and not URL_RE.match(values["website"]):
        raise Invalid(_("Indirizzo web non valido: deve iniziare con https:// (o http://)."), field="website")
    same_name = sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == values["name"].lower())
    same_code = sa.select(Organisation.id).where(Organisation.istat_code == values["istat_code"])
    if current is not None:
        same_name = same_name.where(Organisation.id != current.id)
        same_code = same_code.where(Organisation.id != current.id)
    if db.session.scalar(same_name) is not None:
        raise Invalid(_("Esiste già un partner con questo nome."), field="name")
    if values["istat_code"] and db.session.scalar(same_code) is not None:
        raise Invalid(_("Questo codice ISTAT è già di un altro Comune."), field="istat_code")
    return values


def _stale_organisation(organisation: Organisation) -> Stale:
    """409 for a partner form opened on an older version; says when the saved data last changed."""
    db.session.rollback()
    saved = db.session.get(Organisation, organisation.id, populate_existing=True)
    when = saved.updated_at if saved is not None else None
    if when is None:
        return Stale(_("Questo partner è stato modificato da un altro utente mentre lo stavi modificando: "
                       "le tue modifiche non sono state salvate."))
    return Stale(_("Questo partner è stato modificato da un altro utente il %(day)s alle %(time)s, mentre lo "
                   "stavi modificando: le tue modifiche non sono state salvate.",
                   day=format_date(when), time=format_time(when)))


def _save_organisation(organisation: Organisation) -> Organisation:
    try:
        versions.commit_or_stale(lambda: _stale_organisation(organisation))
    except IntegrityError:
        db.session.rollback()
        raise Invalid(_("Esiste già un partner con questo nome o codice ISTAT."), field="name") from None
    return organisation


def create_organisation(actor: User, data: OrganisationData) -> Organisation:
    """Add a partner to the network."""
    organisation = Organisation(**_clean_organisation(data, None))
    db.session.add(organisation)
    return _save_organisation(organisation)


def update_organisation(actor: User, organisation: Organisation, data: OrganisationData, version) -> Organisation:
    """Edit a partner, refusing a form opened on an older version; deactivating it must leave an administrator."""
    versions.check(organisation.version, version, lambda: _stale_organisation(organisation))
    values = _clean_organisation(data, organisation)
    if organisation.active and not values["active"]:
        if organisation.id == actor.organisation_id:
            raise Invalid(_("Non puoi disattivare la tua organizzazione."), field="active")
        remaining = db.session.scalar(
            sa.select(sa.func.count(User.id)).join(User.organisation).where(
                User.role == Role.ADMIN, User.active.is_(True), Organisation.active.is_(True),
                Organisation.id != organisation.id)
        )
        if not remaining:
            raise Conflict(_("Disattivando questo partner non resterebbe nessun amministratore attivo."))
    if organisation.active != values["active"]:
        audit.record("organisation.reactivated" if values["active"] else "organisation.deactivated",
                     actor=actor, object_type="organisation", object_id=organisation.id)
    for key, value in values.items():
        setattr(organisation, key, value)
    return _save_organisation(organisation)
