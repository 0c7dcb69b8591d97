"""Young people's register use cases: search, duplicate check, registration."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from app import policy
from app.domain.errors import Forbidden, Invalid
from app.extensions import db
from app.models import (
    CHANNELS,
    GENDERS,
    STUDY_WORK_STATUSES,
    Desk,
    Organisation,
    OrganisationKind,
    Role,
    User,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.young_person import DIGITAL_CONSENT_AGE, age_on, format_code
from app.text import contains_folded_param, fold, folded_pattern

ROME = ZoneInfo("Europe/Rome")
PRIVACY_TEXT_VERSION = "2026-01"
SEARCH_LIMIT = 20
MAX_SEARCH_PAGE = 50  # 1,000 people: past that, a narrower search is the way
TRIGRAM = 3  # words this long are found through the trigram indexes (shorter ones match too many names)
CODE_RE = re.compile(r"^HDT-\d{4}-\d{1,6}$", re.IGNORECASE)
CODE_PREFIX_RE = re.compile(r"^HDT-\d{4}-\d{4}", re.IGNORECASE)  # four of the six digits: 100 codes at most


def today_local() -> date:
    """Today in Europe/Rome."""
    return datetime.now(ROME).date()


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")[-10:]


def _name_contains(person, name: str) -> sa.ColumnElement:
    """The first or the last name contains the word given as parameter `name`, whatever the case and the accents."""
    return sa.or_(contains_folded_param(person.first_name, name), contains_folded_param(person.last_name, name))


def _search_statement(role: str, by_code: bool, narrow: bool, long_words: int, short_words: int) -> sa.Select:
    """The search's statement for one shape of search, with every value a parameter (see `search`)."""
    query = policy.scoped_young_people(sa.select(YoungPerson), policy.role_stand_in(role), per_candidate=True,
                                       params_later=True)
    person = YoungPerson
    if by_code:
        # Codes are stored upper-case: a LIKE prefix is ix_young_people_code_prefix (0012), ILIKE is not.
        query = query.where(YoungPerson.code.like(sa.bindparam("code_prefix", required=True)))
    for n in range(long_words):
        query = query.where(_name_contains(YoungPerson, f"word_{n}"))
    if narrow:
        # Matched through the trigram or code-prefix indexes (migrations 0019, 0012), then sorted: without the
        # fence PostgreSQL walks the name index in order hoping to stop early and, for a surname late in
        # the alphabet, reads most of the register first (Rossi: 44,000 rows, ~100 ms).
        candidates = query.offset(0).subquery()
        person = aliased(YoungPerson, candidates)
        # Outside the fence, a short word is only a filter: inside it, PostgreSQL would also read the whole
        # trigram index for it ("De": 50,000 entries, ~20 ms) and intersect the two.
        # Conditions and order on the subquery's own columns: through the alias, SQLAlchemy would adapt
        # each attribute to the subquery (~1 ms of CPU per build).
        columns = candidates.c
        query = sa.select(person).where(*(_name_contains(columns, f"short_{n}") for n in range(short_words)))
    else:
        columns = YoungPerson
    # The results show each person's town: loaded with them, not one query per town.
    return (query.options(joinedload(person.residence_town))
            .order_by(columns.last_name, columns.first_name, columns.id)
            .limit(sa.bindparam("limit", required=True)).offset(sa.bindparam("offset", required=True)))


# Built once per shape (role, code or name, narrowed or not, how many words of each kind) and dialect: building
# it cost about as much CPU as running it. Bounded: 6 roles x 2 x 2 x 5 x 5 x 2.
_STATEMENTS: dict[tuple, sa.Select] = {}


def search(actor, q: str, limit: int = SEARCH_LIMIT, offset: int = 0) -> list[YoungPerson]:
    """Young people in the actor's scope whose code or name matches `q` (every word must match), in name order."""
    q = (q or "").replace("\x00", "").strip()[:100]  # PostgreSQL text holds no NUL byte
    by_code = bool(CODE_RE.match(q) or q.upper().startswith("HDT"))
    words = [] if by_code else fold(q).split()[:4]  # "Nicolò" finds "nicolo" and the other way round
    # A code with four of its digits, or one word of three letters or more (found through the trigram
    # indexes; a shorter one, "De" of "De Luca", has no trigram and only filters what the others found),
    # narrow the register to a few candidates, matched first and then sorted. Otherwise the search walks
    # the register in name order until a page is found. Either way the scope is probed per candidate met
    # (app/policy/people.py): one index descent each, instead of hashing the history of the desks or
    # tutors on every keystroke (coordinator: ~350,000 appointments, ~250 ms).
    narrow = bool(CODE_PREFIX_RE.match(q)) if by_code else any(len(w) >= TRIGRAM for w in words)
    short = [w for w in words if len(w) < TRIGRAM] if narrow else []
    long = [w for w in words if w not in short]
    shape = (actor.role, by_code, narrow, len(long), len(short), db.session.get_bind().dialect.name)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = _search_statement(*shape[:5])
    params = {**policy.young_people_scope_params(actor, per_candidate=True), "limit": limit, "offset": offset,
              **{f"word_{n}": folded_pattern(w) for n, w in enumerate(long)},
              **{f"short_{n}": folded_pattern(w) for n, w in enumerate(short)}}
    if by_code:
        params["code_prefix"] = f"{q.upper()}%"
    return list(db.session.scalars(statement, params))


@dataclass
class SearchPage:
    """One page of a search: the people, its number, and whether more follow (found without counting them)."""

    people: list[YoungPerson]
    page: int
    has_more: bool

    @property
    def has_next(self) -> bool:
        """A next page is offered up to MAX_SEARCH_PAGE; past it the search must be narrowed."""
        return self.has_more and self.page < MAX_SEARCH_PAGE


def search_page(actor, q: str, page: int = 1, per_page: int = SEARCH_LIMIT) -> SearchPage:
    """A page of `search`: one row more than shown says whether more follow (no count of every match)."""
    page = min(max(page, 1), MAX_SEARCH_PAGE)
    found = search(actor, q, limit=per_page + 1, offset=(page - 1) * per_page)
    return SearchPage(found[:per_page], page, len(found) > per_page)


@dataclass
class PersonData:
    """What the registration form sends."""

    first_name: str
    last_name: str
    birth_date: date | None
    gender: str
    study_work_status: str
    residence_town_id: int | None = None
    residence_other: str = ""
    school: str = ""
    phone: str = ""
    email: str = ""
    preferred_channel: str = "telefono"
    guardian_name: str = ""
    guardian_contact: str = ""
    guardian_consent: bool = False
    privacy_consent: bool = False
    protected: bool = False
    tutor_id: int | None = None
    registered_desk_id: int | None = None


def possible_duplicates(data: PersonData) -> list[YoungPerson]:
    """Records with the same name and birth date, or the same phone (whole register, protected ones excluded)."""
    conditions = []
    if data.first_name and data.last_name and data.birth_date:
        conditions.append(sa.and_(sa.func.lower(YoungPerson.first_name) == data.first_name.strip().lower(),
                                  sa.func.lower(YoungPerson.last_name) == data.last_name.strip().lower(),
                                  YoungPerson.birth_date == data.birth_date))
    digits = _digits(data.phone)
    if len(digits) >= 6:
        conditions.append(YoungPerson.phone.like(f"%{digits[-6:]}"))
    if not conditions:
        return []
    rows = db.session.scalars(sa.select(YoungPerson).where(sa.or_(*conditions), YoungPerson.protected.is_(False))
                              .order_by(YoungPerson.id).limit(10)).all()
    # The phone condition is a coarse filter: compare the normalised numbers exactly.
    return [p for p in rows
            if (p.birth_date == data.birth_date and p.first_name.lower() == data.first_name.strip().lower()
                and p.last_name.lower() == data.last_name.strip().lower())
            or (digits and _digits(p.phone) == digits)]


def _validate(actor, data: PersonData, today: date) -> None:
    """Field-level rules with Italian messages (422)."""
    if not data.first_name.strip():
        raise Invalid(_("Il nome è obbligatorio."), field="first_name")
    if not data.last_name.strip():
        raise Invalid(_("Il cognome è obbligatorio."), field="last_name")
    if data.birth_date is None or data.birth_date > today:
        raise Invalid(_("Data di nascita non valida."), field="birth_date")
    age = age_on(data.birth_date, today)
    if age < 10 or age > 35:
        raise Invalid(_("Il programma è per giovani tra i 10 e i 35 anni."), field="birth_date")
    if data.gender not in GENDERS:
        raise Invalid(_("Scegli un'opzione."), field="gender")
    if data.study_work_status not in STUDY_WORK_STATUSES:
        raise Invalid(_("Scegli un'opzione."), field="study_work_status")
    if data.preferred_channel not in CHANNELS:
        raise Invalid(_("Scegli un'opzione."), field="preferred_channel")
    if data.residence_town_id is None and not data.residence_other.strip():
        raise Invalid(_("Indica il comune di residenza."), field="residence_town_id")
    if data.residence_town_id is not None:
        town = db.session.get(Organisation, data.residence_town_id)
        if town is None or town.kind != OrganisationKind.MUNICIPALITY:
            raise Invalid(_("Comune non valido."), field="residence_town_id")
    if not data.phone.strip() and not data.email.strip():
        raise Invalid(_("Serve almeno un recapito: telefono o e-mail."), field="phone")
    if data.email and "@" not in data.email:
        raise Invalid(_("Indirizzo e-mail non valido."), field="email")
    if data.preferred_channel == "email" and not data.email.strip():
        raise Invalid(_("Per ricevere e-mail serve l'indirizzo."), field="email")
    if data.preferred_channel in ("telefono", "sms") and not data.phone.strip():
        raise Invalid(_("Per essere contattati al telefono serve il numero."), field="phone")
    if age < DIGITAL_CONSENT_AGE:
        if not data.guardian_name.strip() or not data.guardian_contact.strip():
            raise Invalid(_("Sotto i 14 anni servono nome e recapito di un genitore o tutore."),
                          field="guardian_name")
        if not data.guardian_consent:
            raise Invalid(_("Sotto i 14 anni serve il consenso di un genitore o tutore."), field="guardian_consent")
    if not data.privacy_consent:
        raise Invalid(_("Senza consenso al trattamento dei dati non è possibile registrare la persona."),
                      field="privacy_consent")
    if data.protected or data.tutor_id is not None:
        tutor = db.session.get(User, data.tutor_id) if data.tutor_id else None
        if tutor is None or tutor.role != Role.TUTOR:
            raise Invalid(_("Una scheda riservata richiede il tutor di riferimento."), field="tutor_id")


def register(actor, data: PersonData) -> YoungPerson:
    """Register a young person (the caller has shown the possible duplicates first)."""
    if not policy.can_register_young_people(actor):
        raise Forbidden(_("Non puoi registrare persone."))
    today = today_local()
    _validate(actor, data, today)
    desk = None
    if data.registered_desk_id is not None:
        desk = db.session.scalar(policy.bookable_desks(sa.select(Desk), actor)
                                 .where(Desk.id == data.registered_desk_id))
        if desk is None:
            raise Invalid(_("Sportello non valido."), field="registered_desk_id")
    person = YoungPerson(
        code=f"TMP-{secrets.token_hex(7)}",
        first_name=data.first_name.strip()[:80], last_name=data.last_name.strip()[:80], birth_date=data.birth_date,
        gender=data.gender, residence_town_id=data.residence_town_id,
        residence_other="" if data.residence_town_id else data.residence_other.strip()[:80],
        study_work_status=data.study_work_status, school=data.school.strip()[:160], phone=data.phone.strip()[:40],
        email=data.email.strip()[:254], preferred_channel=data.preferred_channel,
        guardian_name=data.guardian_name.strip()[:120], guardian_contact=data.guardian_contact.strip()[:160],
        guardian_consent=bool(data.guardian_consent), privacy_consent_at=utcnow(),
        privacy_text_version=PRIVACY_TEXT_VERSION, privacy_collected_by_id=actor.id,
        protected=bool(data.protected), tutor_id=data.tutor_id,
        registered_desk_id=desk.id if desk else None, registered_org_id=actor.organisation_id,
        created_by_id=actor.id,
    )
    db.session.add(person)
    db.session.flush()
    # The code comes from the id (unique by construction; the unique constraint guards it anyway).
    person.code = format_code(today.year, person.id)
    from app.privacy.services import record_registration_consents

    record_registration_consents(person, actor, age=age_on(data.birth_date, today))
    db.session.commit()
    return person


def municipalities() -> list[Organisation]:
    """The network's towns, for the residence field."""
    return list(db.session.scalars(sa.select(Organisation).where(
        Organisation.kind == OrganisationKind.MUNICIPALITY, Organisation.active.is_(True)).order_by(Organisation.name)))


def tutors_for(actor) -> list[User]:
    """Tutors the actor may name as tutor of record (coordinators: their own organisation's)."""
    query = sa.select(User).where(User.role == Role.TUTOR, User.active.is_(True)).order_by(User.full_name)
    if actor.role == Role.COORDINATOR:
        query = query.where(User.organisation_id == actor.organisation_id)
    return list(db.session.scalars(query))
