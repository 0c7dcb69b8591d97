"""Benchmark data: the real partner network plus ten years of synthetic activity (issue 11).

`flask bench-data --scale N [--seed S]` fills an EMPTY, migrated database with, at scale 1:
20 desks in the 7 real towns (run by the 3 real associations), 60 tutors, 20 operators and
20 dashboard readers (Ufficio di Piano, team leads, town contacts, Città Metropolitana), every
admin, coordinator and tutor with an authenticator secret derived from the seed (`totp_secret`,
so the load test signs in with real codes); 50,000 young people; ~1,000,000 appointments over
ten years (attended / no-show / cancelled in the past, booked / confirmed in the next weeks);
~600,000 session notes (mostly final, with outcomes, progress marks and referrals) and
~100,000 helpdesk tickets. The same scale and seed give the same rows.

Every row satisfies the schema as the application writes it, by construction:

- a cell is (desk, slot start, room): a slot is `slot_minutes` long and starts every
  slot+buffer minutes inside the desk's weekly hours (never on a national holiday), each room
  has its own tutor who belongs to that desk only, and the young people of one slot are drawn
  without replacement from the desk's own register. So no tutor, young person or room is ever
  booked twice at once; on PostgreSQL the exclusion constraints re-check every row.
- notes are written the way the editor does it: a draft with its outcomes, then finalised
  by an UPDATE (the lock triggers refuse outcomes on a final note, and allow draft -> final);
  `content_hash` is the real hash of the canonical content (app.notes.services).
- no audit rows: the hash chain is written by app.audit only. No archived PDF versions either
  (rendering 600,000 PDFs is a disk cost, not a database one); `make bench` finalises the few
  notes it downloads through the real service, which renders and archives them.

PostgreSQL loads everything in one transaction (if anything fails, it rolls everything back):
the big tables' secondary indexes, unique and foreign-key constraints are dropped first and
re-created (so re-validated) at the end, the standard way to bulk-load; the GiST exclusion
constraints stay and check each row as it arrives (see KEPT_DURING_LOAD). Rows stream into binary
COPY from a second thread while the generator builds the next batch (PostgresSink), so Python and
PostgreSQL work at the same time on the two cores. The per-row lock trigger of note_outcomes is
lifted during the COPY and what it guards is re-checked over the whole table by one statement
before it is switched back on (INSERT_TRIGGER_CHECKS); the load fails if a row violates it.
SQLite gets the same rows through executemany (meant for small scales).
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import random
import threading
import time as clock
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from app import seed
from app.auth.two_factor import enrol_with_secret
from app.bookings.demo import CANCEL_REASONS, FIRST_F, FIRST_M, LAST, SCHOOLS
from app.domain.holidays import holidays_for
from app.extensions import db
from app.formatting import ROME
from app.helpdesk.demo import MESSAGES
from app.models import (
    AvailabilityInterval,
    Desk,
    OpeningSchedule,
    Organisation,
    Role,
    ScheduleInterval,
    TutorAvailability,
    User,
)
from app.models.ticket import format_reference
from app.models.young_person import format_code
from app.notes import services as note_services
from app.policy import SECOND_FACTOR_ROLES

# --- The shape of the network ----------------------------------------------------------------

YEARS = 10
PEOPLE, APPOINTMENTS, NOTES, TICKETS = 50_000, 1_000_000, 600_000, 100_000
FUTURE_WEEKS = 8
FUTURE_SHARE = 0.8  # the next weeks are booked at 80% of the past occupancy
BENCH_PASSWORD = "hub-bench-2026"  # noqa: S105 - the bench accounts' shared password, printed by the command
EMAIL_DOMAIN = "bench.hub.test"
PRIVACY_VERSION = "2026-01"
UID_SUFFIX = "@bench.hub-dei-talenti"
# Surnames with a register's long tail: the demo's 56 common ones (LAST) go to 30 % of the people, about
# 0.5 % each (Colombo's share around Milan, more than Rossi's ~0.2 % nationally); the rest are made of a stem
# and an ending, 1,120 surnames of about 30 people each at scale 1. Drawn from LAST alone (until generator
# version 3), one surname in 56 was everybody's: "Rossi" found ~950 of 50,000 people.
COMMON_SURNAMES = 0.30
STEMS = ("Agost", "Albert", "Aless", "Amat", "Angel", "Arment", "Bald", "Barbat", "Bass", "Bell", "Benedett",
         "Berard", "Bert", "Bonfant", "Borgh", "Bramb", "Brun", "Calder", "Camp", "Canton", "Capell", "Carr",
         "Castell", "Cattan", "Cavall", "Cerut", "Cocc", "Corn", "Cripp", "D'Add", "Dell'Acqu", "Donat", "Fagn",
         "Farin", "Fedel", "Fior", "Fossat", "Franc", "Friger", "Gald", "Garbagn", "Gatt", "Ghezz", "Gianol",
         "Giuss", "Grand", "Grill", "Guzz", "Lazzar", "Locatell", "Longh", "Lorenz", "Maggion", "Malvezz",
         "Mantegazz", "Marches", "Mazzol", "Meregall", "Minott", "Molten", "Montanar", "Nav", "Negr", "Oldan",
         "Orsen", "Pagan", "Pozz", "Radaell", "Redaell", "Riv", "Ronch", "Sal", "Sangall", "Scott", "Siron",
         "Spinell", "Tagliabu", "Tremolad", "Valsecch", "Vigan")
ENDINGS = ("a", "i", "o", "ini", "etti", "oni", "ello", "ati", "ucci", "ari", "otti", "elli", "one", "ardi")


def surname(rng: random.Random) -> str:
    """A young person's surname: a common one for COMMON_SURNAMES of the people, else one of the long tail."""
    if rng.random() < COMMON_SURNAMES:
        return rng.choice(LAST)
    return rng.choice(STEMS) + rng.choice(ENDINGS)

# Desks per town (20 in all) and the three kinds of desk the associations run.
DESKS_PER_TOWN = {"Pioltello": 4, "Segrate": 4, "Vimodrone": 3, "Cassina de' Pecchi": 3, "Gessate": 2,
                  "Bussero": 2, "Rodano": 2}
DESK_KINDS = (
    ("Sportello Orientamento", "Students Lab", ("orientamento", "cv_lavoro", "scelte_studio", "peer_to_peer")),
    ("Sportello Ascolto", "Ala Milano", ("ascolto", "peer_to_peer", "orientamento")),
    ("Sportello Donne e Giovani", "Somaschi", ("violenza_genere", "ascolto", "orientamento")),
)
TUTORS_PER_DESK = 3  # one per room: 60 tutors
OPERATORS = 20
ADMINS, COORDINATORS_PER_PARTNER, OBSERVERS = 5, 2, 2
# Weekly hours of every desk: Monday-Friday 9-13 and 14-18, Saturday 9-13 (local time).
WEEKLY_HOURS = [(day, time(9), time(13)) for day in range(6)] + [(day, time(14), time(18)) for day in range(5)]
SLOT_MINUTES, BUFFER_MINUTES = 45, 15

TOPICS = ("Scelta della scuola superiore", "Curriculum e lettera di presentazione", "Ansia per gli esami",
          "Rapporti in famiglia", "Orientamento universitario", "Ricerca di un tirocinio", "Autostima",
          "Gestione del tempo", "Colloquio di lavoro", "Relazioni con i compagni", "Stereotipi di genere nelle scelte",
          "Servizio civile e volontariato")
SUMMARIES = ("Colloquio sereno, la persona ha raccontato i progressi delle ultime settimane.",
             "Abbiamo ripreso gli obiettivi concordati e valutato cosa ha funzionato.",
             "La persona appare più sicura nel prendere decisioni rispetto al primo incontro.",
             "Emergono dubbi sulla scelta tra lavoro e proseguimento degli studi.",
             "Abbiamo simulato un colloquio di lavoro e discusso le risposte.",
             "Riferisce difficoltà a scuola e un periodo di stanchezza; nessun segnale di rischio.",
             "Abbiamo esplorato interessi e talenti con una scheda di autovalutazione.",
             "Prima parte dedicata all'ascolto, seconda alla definizione di piccoli passi concreti.")
AGREEMENTS = ("Prossimo incontro tra due settimane.", "Preparare una bozza di curriculum.",
              "Visitare l'open day della scuola scelta.", "Contattare il centro per l'impiego.",
              "Tenere un diario delle attività della settimana.", "")
TICKET_OUTCOMES = ("risolto", "inviato_altro_servizio", "non_raggiungibile", "rinuncia", "duplicato")


def totp_secret(seed_value: int, email: str) -> str:
    """The authenticator secret of a bench account (base32), known to the load test: derived, never random."""
    digest = hashlib.sha256(f"hub-bench:{seed_value}:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


@dataclass
class Counts:
    """Rows written per table, for the closing summary."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int = 1) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


# --- Where rows go ---------------------------------------------------------------------------

# Bulk tables in load order (parents first) with their columns in the order rows are built.
COLUMNS: dict[str, tuple[str, ...]] = {
    "young_people": ("id", "code", "first_name", "last_name", "birth_date", "gender", "residence_town_id",
                     "residence_other", "study_work_status", "school", "phone", "email", "preferred_channel",
                     "guardian_name", "guardian_contact", "guardian_consent", "privacy_consent_at",
                     "privacy_text_version", "privacy_collected_by_id", "protected", "tutor_id",
                     "registered_desk_id", "registered_org_id", "created_by_id", "created_at", "updated_at",
                     "version"),
    "appointments": ("id", "desk_id", "tutor_id", "young_person_id", "service", "mode", "starts_at", "ends_at",
                     "status", "cancel_reason", "cancelled_by_kind", "cancelled_by_id", "cancelled_at",
                     "rescheduled_from_id", "override_reason", "uid", "sequence", "created_by_id", "created_at",
                     "updated_by_id", "updated_at", "version"),
    "appointment_events": ("id", "appointment_id", "at", "actor_id", "kind", "from_status", "to_status", "detail"),
    "tickets": ("id", "reference", "channel", "status", "outcome", "priority", "first_name", "age", "town_id",
                "town_other", "phone", "email", "topic", "preferred_times", "preferred_from", "message", "referrer",
                "guardian_name", "guardian_contact", "guardian_consent", "privacy_consent_at",
                "privacy_text_version", "desk_id", "assignee_id", "assignee_seen", "young_person_id",
                "created_by_id", "received_at", "updated_at", "closed_at", "version"),
    "ticket_appointments": ("ticket_id", "appointment_id"),
    "notes": ("id", "appointment_id", "author_id", "young_person_id", "status", "topics", "summary", "agreements",
              "referrals", "referral_other", "needs_attention", "revision", "created_at", "saved_at",
              "finalised_at", "finalised_by_id", "content_hash", "attention_seen_at", "session_starts_at"),
    "note_outcomes": ("note_id", "outcome", "progress"),
}
SEQUENCED = ("young_people", "appointments", "appointment_events", "tickets", "notes")


class PostgresSink:
    """Rows stream into binary COPY on the load's own connection while the generator builds the next ones.

    The generator hands over a batch of rows every `BATCH` rows; a second thread writes it with one
    COPY per table (parents first) on the same connection, so the load stays one transaction while
    PostgreSQL stores a batch and Python builds the next (two cores: neither waits for the other).
    Binary COPY: psycopg encodes each row in C (~2 µs a row against ~25 µs for Python-built text) and
    the server parses no text. The tables were truncated in this transaction, so COPY FREEZE writes
    the rows already frozen and visible to all: no hint-bit rewrite of every page on the first read,
    and the closing VACUUM skips them.
    """

    BATCH = 50_000
    DEPTH = 3  # batches waiting at most (memory bound; the generator pauses when PostgreSQL falls behind)

    def __init__(self, connection):
        self.raw = connection.connection.driver_connection
        self.types = {table: self._types(table) for table in COLUMNS}
        self.pending: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        self.size = 0
        self.seconds = dict.fromkeys(COLUMNS, 0.0)  # time spent writing each table (overlaps generation)
        self.error: BaseException | None = None
        self.batches: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self.writer = threading.Thread(target=self._write, name="bench-copy", daemon=True)
        self.writer.start()

    def _types(self, table: str) -> list[int]:
        """The type oids of the table's columns, in COLUMNS order (binary COPY needs them exactly)."""
        with self.raw.cursor() as cursor:
            oids = dict(cursor.execute(
                "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped", (table,)).fetchall())
        return [oids[column] for column in COLUMNS[table]]

    def add(self, table: str, row: tuple) -> None:
        self.pending[table].append(row)
        self.size += 1
        if self.size >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Hand the rows built so far to the writer (waits while DEPTH batches are queued)."""
        if self.error is not None:
            raise self.error
        if self.size:
            self.batches.put(self.pending)
            self.pending = {t: [] for t in COLUMNS}
            self.size = 0

    def _write(self) -> None:
        with self.raw.cursor() as cursor:
            while (batch := self.batches.get()) is not None:
                if self.error is not None:
                    continue  # drain the queue so the generator never blocks; flush() raises
                try:
                    for table, rows in batch.items():
                        if rows:
                            started = clock.perf_counter()
                            columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
                            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN "  # noqa: S608 - fixed names
                                             "(FORMAT BINARY, FREEZE)") as copy:
                                copy.set_types(self.types[table])
                                for row in rows:
                                    copy.write_row(row)
                            self.seconds[table] += clock.perf_counter() - started
                except BaseException as error:  # noqa: BLE001 - handed to the generator's thread
                    self.error = error

    def load(self, connection, log: Callable[[str], None]) -> None:
        """Wait for the last batch; raise what the writer met."""
        self.flush()
        self.close()
        if self.error is not None:
            raise self.error
        for table, seconds in self.seconds.items():
            log(f"  COPY {table}: {seconds:.1f} s (overlapping the generation)")

    def close(self) -> None:
        """End the writer thread (idempotent; also when the generator failed)."""
        if self.writer.is_alive():
            self.batches.put(None)
            self.writer.join()


class SqliteSink:
    """Rows go through SQLAlchemy Core executemany (types converted by the models), parents flushed first."""

    BATCH = 5000

    def __init__(self, connection):
        self.connection = connection
        self.buffers: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        self.tables = {t: db.metadata.tables[t] for t in COLUMNS}

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        for table, buffer in self.buffers.items():  # parent tables first (COLUMNS order)
            if buffer:
                columns = COLUMNS[table]
                self.connection.execute(self.tables[table].insert(), [dict(zip(columns, r, strict=True))
                                                                     for r in buffer])
                buffer.clear()

    def load(self, connection, log: Callable[[str], None]) -> None:
        self.flush()

    def close(self) -> None:
        """Nothing runs in the background."""


# --- PostgreSQL: what is lifted during the bulk load, and how it is re-checked -------------------

# Constraints kept during the load (checked row by row as COPY inserts): the GiST exclusion constraints.
# A GiST index is built by inserting row after row anyway (no sorted build for btree_gist and ranges in
# PostgreSQL 15), so keeping them costs the server the same work as re-creating them at the end, but
# that work now runs while Python generates instead of after it (at scale 1 the two re-creations took
# 56 s + 38 s after the load on a quiet machine, 103 s + 46 s on a loaded one).
KEPT_DURING_LOAD = ("x",)
# Per-row INSERT triggers lifted during the COPY, each with the ONE statement that re-checks, over the
# whole table, what the trigger guards; the load fails if it returns a row. note_outcomes' lock trigger
# refuses an outcome whose note is final: every note is a draft until the closing UPDATE finalises it
# (as the editor does), so no outcome may belong to a final note once the rows are in.
INSERT_TRIGGER_CHECKS = {
    ("note_outcomes", "tr_note_outcomes_final_locked"):
        "SELECT o.note_id FROM note_outcomes o JOIN notes n ON n.id = o.note_id WHERE n.status = 'final' LIMIT 1",
    # The note's copy of its session start (migration 0016): written by the generator, equal to the appointment's.
    ("notes", "tr_notes_session_start"):
        "SELECT n.id FROM notes n JOIN appointments a ON a.id = n.appointment_id "
        "WHERE n.session_starts_at IS DISTINCT FROM a.starts_at LIMIT 1",
}


def _pg_deferrable(connection) -> tuple[list[str], list[str]]:
    """(drop statements, re-create statements) for the bulk tables' secondary indexes and constraints.

    Foreign keys of other (empty) tables that point at the bulk tables are dropped too, so the bulk
    tables can be truncated in the load's transaction (what COPY FREEZE needs); all are re-created,
    so re-validated, at the end.
    """
    tables = list(COLUMNS)
    constraints = connection.execute(sa.text(
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE (c.conrelid::regclass::text = ANY(:t) AND c.contype IN ('f', 'u', 'x') "
        "  AND NOT c.contype::text = ANY(:kept)) "
        "OR (c.contype = 'f' AND c.confrelid::regclass::text = ANY(:t)) "
        "ORDER BY c.contype DESC, c.conname"), {"t": tables, "kept": list(KEPT_DURING_LOAD)}).all()  # x, u, then f
    indexes = connection.execute(sa.text(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:t) AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname"),
        {"t": tables}).all()
    foreign = [c for c in constraints if c[2] == "f"]
    other = [c for c in constraints if c[2] != "f"]
    drops = [f'ALTER TABLE {t} DROP CONSTRAINT "{n}"' for t, n, _k, _d in foreign + other]
    drops += [f'DROP INDEX "{n}"' for _t, n, _d in indexes]
    creates = [d for _t, _n, d in indexes]
    creates += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, _k, d in other + foreign]
    return drops, creates


def _pg_insert_triggers(connection) -> list[tuple[str, str]]:
    """The enabled per-row INSERT triggers on the bulk tables that INSERT_TRIGGER_CHECKS knows how to re-check."""
    found = connection.execute(sa.text(
        "SELECT t.tgrelid::regclass::text, t.tgname FROM pg_trigger t WHERE NOT t.tgisinternal "
        "AND t.tgenabled <> 'D' AND t.tgrelid::regclass::text = ANY(:t) AND (t.tgtype & 1) = 1 "
        "AND (t.tgtype & 4) = 4"), {"t": list(COLUMNS)}).all()  # ROW and INSERT
    return [(table, name) for table, name in found if (table, name) in INSERT_TRIGGER_CHECKS]


# --- The generator ---------------------------------------------------------------------------

@dataclass
class DeskPlan:
    desk: Desk
    services: tuple[str, ...]
    tutors: list[User]  # tutors[r] works in room r
    operators: list[User]
    people: list[tuple[int, datetime]] = field(default_factory=list)  # (id, registered at), by registration
    # Plain ids, read once from the ORM objects (the row loops run millions of times).
    desk_id: int = 0
    town_id: int = 0
    partner_id: int = 0
    tutor_ids: list[int] = field(default_factory=list)
    operator_ids: list[int] = field(default_factory=list)

    def freeze_ids(self) -> None:
        """Copy the ids the row loops need out of the ORM objects (once the network is flushed)."""
        self.desk_id, self.town_id, self.partner_id = self.desk.id, self.desk.municipality_id, self.desk.partner_id
        self.tutor_ids = [t.id for t in self.tutors]
        self.operator_ids = [o.id for o in self.operators]


class Generator:
    """Builds the network with the ORM, then streams the bulk rows to a sink."""

    def __init__(self, scale: float, seed_value: int, today: date, log: Callable[[str], None],
                 history_days: int | None = None):
        self.scale, self.seed, self.today, self.log = scale, seed_value, today, log
        self.rng = random.Random(seed_value)
        self.now = datetime.combine(today, time(8), tzinfo=ROME).astimezone(UTC)
        self.start = today - timedelta(days=history_days) if history_days else date(today.year - YEARS,
                                                                                     today.month, 1)
        self.end = today + timedelta(weeks=FUTURE_WEEKS)
        self.counts = Counts()
        self.ids = {t: 0 for t in SEQUENCED}
        self.codes: dict[int, str] = {}  # young person id -> pseudonymous code (the note hash covers it)
        self.encoded: dict[str, str] = {}  # strings of the note hashes as JSON text (_json)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # Network (ORM: a few hundred rows) ------------------------------------------------------

    def network(self, password_hash: str) -> list[DeskPlan]:
        orgs = seed.seed_network()
        rng = random.Random(self.seed + 1)
        names = self._names(rng)

        def user(role: str, org: Organisation, local: str) -> User:
            first, last = next(names)
            account = User(email=f"{local}@{EMAIL_DOMAIN}", full_name=f"{first} {last}", role=role,
                           organisation_id=org.id, password_hash=password_hash)
            db.session.add(account)
            return account

        # Twenty people who read the dashboards: Ufficio di Piano, team leads, town contacts, Città Metropolitana.
        for n in range(ADMINS):
            user(Role.ADMIN, orgs["Ufficio di Piano"], f"admin{n + 1}")
        for _prefix, partner, _services in DESK_KINDS:
            for n in range(COORDINATORS_PER_PARTNER):
                user(Role.COORDINATOR, orgs[partner], f"coordinatore{n + 1}.{self._slug(partner)}")
        for town in DESKS_PER_TOWN:
            user(Role.MUNICIPAL_CONTACT, orgs[town], f"comune.{self._slug(town)}")
        for n in range(OBSERVERS):
            user(Role.OBSERVER, orgs["Città Metropolitana"], f"osservatore{n + 1}")
        plans: list[DeskPlan] = []
        kind = 0
        for town, how_many in DESKS_PER_TOWN.items():
            for n in range(how_many):
                prefix, partner, services = DESK_KINDS[kind % len(DESK_KINDS)]
                kind += 1
                desk = Desk(name=f"{prefix} {town}" + (f" {n + 1}" if how_many > 1 else ""),
                            municipality_id=orgs[town].id, partner_id=orgs[partner].id, rooms=TUTORS_PER_DESK,
                            slot_minutes=SLOT_MINUTES, buffer_minutes=BUFFER_MINUTES)
                desk.services = services
                desk.schedules = [OpeningSchedule(
                    name="Orario ordinario", valid_from=self.start, valid_to=None,
                    intervals=[ScheduleInterval(weekday=d, start=s, end=e) for d, s, e in WEEKLY_HOURS])]
                db.session.add(desk)
                number = len(plans) + 1
                tutors = [user(Role.TUTOR, orgs[partner], f"tutor{number:02d}.{r + 1}")
                          for r in range(TUTORS_PER_DESK)]
                plans.append(DeskPlan(desk, services, tutors, []))
        db.session.flush()
        for i in range(OPERATORS):
            plan = plans[i % len(plans)]
            operator = user(Role.OPERATOR, plan.desk.partner, f"operatore{i + 1:02d}")
            plan.desk.operators.append(operator)
            plan.operators.append(operator)
        for plan in plans:
            plan.desk.tutors.extend(plan.tutors)
            for tutor in plan.tutors:
                db.session.add(TutorAvailability(
                    tutor_id=tutor.id, desk_id=plan.desk.id, valid_from=self.start, valid_to=None,
                    intervals=[AvailabilityInterval(weekday=d, start=s, end=e) for d, s, e in WEEKLY_HOURS]))
        db.session.flush()
        for account in db.session.scalars(sa.select(User).where(User.role.in_(SECOND_FACTOR_ROLES))):
            enrol_with_secret(account, totp_secret(self.seed, account.email))
        db.session.flush()
        self.towns = {o.id: o for o in orgs.values() if o.is_municipality}
        for plan in plans:
            plan.freeze_ids()
        return plans

    @staticmethod
    def _slug(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    @staticmethod
    def _names(rng: random.Random):
        while True:
            yield rng.choice(FIRST_F + FIRST_M), rng.choice(LAST)

    # Young people ------------------------------------------------------------------------------

    def people(self, plans: list[DeskPlan], sink) -> None:
        rng = self.rng
        total = max(len(plans) * 4, round(PEOPLE * self.scale))
        span = (self.now - datetime.combine(self.start, time(8), tzinfo=UTC)).total_seconds()
        town_ids = list(self.towns)
        for i in range(total):
            plan = plans[i % len(plans)]
            registered = self.now - timedelta(seconds=span * (1 - (i // len(plans)) / (total / len(plans))))
            registered += timedelta(minutes=rng.randrange(600))
            registered = min(registered, self.now)
            person_id = self.next_id("young_people")
            female = rng.random() < 0.52
            first = rng.choice(FIRST_F if female else FIRST_M)
            last = surname(rng)
            age = rng.choices((rng.randint(12, 13), rng.randint(14, 17), rng.randint(18, 24), rng.randint(25, 34)),
                              (5, 40, 40, 15))[0]
            birth = registered.date() - timedelta(days=age * 365 + rng.randrange(365))
            minor = age < 18
            home = plan.town_id if rng.random() < 0.7 else rng.choice(town_ids)
            other = rng.random() < 0.04
            protected = plan.services[0] == "violenza_genere" and rng.random() < 0.1
            operator_id = rng.choice(plan.operator_ids) if plan.operator_ids else None
            sink.add("young_people", (
                person_id, format_code(registered.year, person_id), first, last, birth,
                "F" if female else rng.choices(("M", "altro", "nd"), (94, 2, 4))[0],
                None if other else home, "Milano" if other else "",
                rng.choice(("studente", "studente", "studente", "lavora", "neet", "in_cerca", "altro")),
                rng.choice(SCHOOLS) if age < 26 else "", f"3{rng.randrange(10**8, 10**9)}",
                f"{self._slug(first)}.{self._slug(last)}{person_id}@example.org",
                rng.choice(("telefono", "telefono", "email", "sms")),
                f"{rng.choice(FIRST_F + FIRST_M)} {last}" if minor else "",
                f"3{rng.randrange(10**8, 10**9)}" if minor else "", minor,
                registered, PRIVACY_VERSION, operator_id, protected,
                plan.tutor_ids[0] if protected else None, plan.desk_id, plan.partner_id,
                operator_id, registered, registered, 1))
            plan.people.append((person_id, registered))
            self.codes[person_id] = format_code(registered.year, person_id)
        self.counts.add("young_people", total)

    # Appointments, notes, tickets ---------------------------------------------------------------

    def activity(self, plans: list[DeskPlan], sink) -> None:
        rng = self.rng
        cells = self._cells(plans)
        history = sum(1 for starts_at, _plan in cells if starts_at < self.now) * TUTORS_PER_DESK
        future = len(cells) * TUTORS_PER_DESK - history
        # The weeks ahead are booked a little less than the past was (not everyone has called yet).
        fill = APPOINTMENTS * self.scale / max(1, history + FUTURE_SHARE * future)
        past_fill, future_fill = min(0.95, fill), min(0.6, FUTURE_SHARE * fill)
        attended_expected = past_fill * history * 0.78
        note_rate = min(1.0, NOTES * self.scale / max(1, attended_expected))
        self.log(f"  {len(cells)} slots x {TUTORS_PER_DESK} rooms; fill {past_fill:.3f} past, "
                 f"{future_fill:.3f} ahead")
        windows = {id(p): 0 for p in plans}
        seen: set[int] = set()
        for starts_at, plan in cells:
            past = starts_at < self.now
            fill = past_fill if past else future_fill
            rooms = [room for room in range(TUTORS_PER_DESK) if rng.random() < fill]
            if not rooms:
                continue
            people = plan.people
            # Young people registered in the last nine months, drawn without replacement for this slot.
            low = windows[id(plan)]
            while low < len(people) and people[low][1] < starts_at - timedelta(days=270):
                low += 1
            windows[id(plan)] = low
            high = low
            while high < len(people) and people[high][1] <= starts_at:
                high += 1
            if high - low < TUTORS_PER_DESK * 4:
                high = min(len(people), low + TUTORS_PER_DESK * 4)
                low = max(0, high - TUTORS_PER_DESK * 4)
            chosen = rng.sample(range(low, high), len(rooms))
            for room, index in zip(rooms, chosen, strict=True):
                person_id = people[index][0]
                appointment_id = self._appointment(plan, plan.tutor_ids[room], person_id, starts_at, past, note_rate,
                                                   sink)
                if person_id not in seen:  # a first appointment often comes from a helpdesk request
                    seen.add(person_id)
                    if rng.random() < 0.8:
                        self._ticket(plan, starts_at - timedelta(days=rng.randint(2, 10)), sink,
                                     person_id=person_id, appointment_id=appointment_id)
        history_minutes = int((self.now - datetime.combine(self.start, time(8), tzinfo=UTC)).total_seconds() // 60)
        for _ in range(max(0, round(TICKETS * self.scale) - self.counts.rows.get("tickets", 0))):
            self._ticket(rng.choice(plans), self.now - timedelta(minutes=rng.randrange(history_minutes)), sink)
        sink.flush()

    def _cells(self, plans: list[DeskPlan]) -> list[tuple[datetime, DeskPlan]]:
        """Every (slot start, desk) when the desk is open, in time order (so ids grow with time)."""
        holidays = holidays_for(range(self.start.year, self.end.year + 1))
        step = timedelta(minutes=SLOT_MINUTES + BUFFER_MINUTES)
        cells = []
        day = self.start
        while day <= self.end:
            if day not in holidays:
                for weekday, opens, closes in WEEKLY_HOURS:
                    if weekday != day.weekday():
                        continue
                    begin = datetime.combine(day, opens, tzinfo=ROME)
                    last = datetime.combine(day, closes, tzinfo=ROME) - timedelta(minutes=SLOT_MINUTES)
                    while begin <= last:
                        utc = begin.astimezone(UTC)
                        cells.extend((utc, plan) for plan in plans)
                        begin += step
            day += timedelta(days=1)
        return cells

    def _appointment(self, plan: DeskPlan, tutor_id: int, person_id: int, starts_at: datetime, past: bool,
                     note_rate: float, sink) -> int:
        rng = self.rng
        appointment_id = self.next_id("appointments")
        ends_at = starts_at + timedelta(minutes=SLOT_MINUTES)
        roll = rng.random()
        if past:
            status = "cancelled" if roll < 0.13 else "no_show" if roll < 0.22 else "attended"
        else:
            status = "cancelled" if roll < 0.08 else "confirmed" if roll < 0.35 else "booked"
        operator_id = rng.choice(plan.operator_ids) if plan.operator_ids else None
        created_at = min(self.now, starts_at - timedelta(days=rng.randint(1, 21), minutes=rng.randrange(480)))
        cancelled = status == "cancelled"
        cancelled_at = min(self.now, starts_at - timedelta(hours=rng.randint(2, 48))) if cancelled else None
        cancelled_at = max(cancelled_at, created_at) if cancelled_at else None
        changed_at = cancelled_at or (min(self.now, ends_at) if status in ("attended", "no_show") else created_at)
        sink.add("appointments", (
            appointment_id, plan.desk_id, tutor_id, person_id, rng.choice(plan.services),
            rng.choices(("presenza", "telefono", "video"), (85, 10, 5))[0], starts_at, ends_at, status,
            rng.choice(CANCEL_REASONS) if cancelled else "",
            rng.choice(("young_person", "young_person", "desk", "tutor")) if cancelled else None,
            operator_id if cancelled else None, cancelled_at, None, None,
            f"{uuid.UUID(int=rng.getrandbits(128))}{UID_SUFFIX}", 0, operator_id, created_at,
            tutor_id if status in ("attended", "no_show") else operator_id, changed_at, 1))
        sink.add("appointment_events", (self.next_id("appointment_events"), appointment_id, created_at, operator_id,
                                        "created", None, "booked", ""))
        events = 1
        if status != "booked":
            kind = "confirmed" if status == "confirmed" else status
            actor = tutor_id if status in ("attended", "no_show") else operator_id
            sink.add("appointment_events", (self.next_id("appointment_events"), appointment_id, changed_at, actor,
                                            kind, "booked", status, ""))
            events += 1
        self.counts.add("appointments")
        self.counts.add("appointment_events", events)
        if status == "attended" and rng.random() < note_rate:
            self._note(plan, tutor_id, person_id, appointment_id, starts_at, ends_at, sink)
        return appointment_id

    def _note(self, plan: DeskPlan, tutor_id: int, person_id: int, appointment_id: int, starts_at: datetime,
              ends_at: datetime, sink) -> None:
        rng = self.rng
        note_id = self.next_id("notes")
        recent = (self.now - ends_at) < timedelta(days=14)
        final = not (recent and rng.random() < 0.5)
        outcomes = sorted(rng.sample(range(1, 8), rng.choices((1, 2, 3), (40, 40, 20))[0]))
        progress = {n: rng.choices(("avviato", "in_corso", "raggiunto"), (30, 50, 20))[0] for n in outcomes}
        referrals = []
        if rng.random() < 0.15:
            referrals = [rng.choice(("centro_impiego", "scuola", "consultorio", "centro_antiviolenza",
                                     "servizi_sociali", "altro"))]
        referral_other = "Informagiovani" if "altro" in referrals else ""
        topics = "; ".join(rng.sample(TOPICS, 2))
        summary = " ".join(rng.sample(SUMMARIES, 3))
        agreements = rng.choice(AGREEMENTS)
        attention = rng.random() < 0.03
        saved_at = min(self.now, ends_at + timedelta(minutes=rng.randint(5, 240)))
        content_hash = None
        if final:
            content_hash = self._content_hash(note_id, tutor_id, person_id, appointment_id, plan.desk_id, starts_at,
                                              ends_at, progress, topics, summary, agreements, referrals,
                                              referral_other, attention)
        seen_at = saved_at + timedelta(days=2) if attention and final and saved_at < self.now - timedelta(days=30) \
            else None
        # Written as a draft (the hash already known), finalised by one UPDATE after the outcomes.
        sink.add("notes", (note_id, appointment_id, tutor_id, person_id, "draft", topics, summary, agreements,
                           ",".join(referrals), referral_other, attention, rng.randint(1, 4), ends_at, saved_at,
                           None, None, content_hash, seen_at, starts_at))
        for n, p in progress.items():
            sink.add("note_outcomes", (note_id, n, p))
        self.counts.add("notes")
        self.counts.add("note_outcomes", len(progress))

    def _content_hash(self, note_id: int, tutor_id: int, person_id: int, appointment_id: int, desk_id: int,
                      starts_at: datetime, ends_at: datetime, progress: dict[int, str], topics: str, summary: str,
                      agreements: str, referrals: list[str], referral_other: str, attention: bool) -> str:
        """The note's real content hash (app.notes.services.content_hash), ~10 x cheaper for 600,000 notes.

        The canonical JSON is assembled from pieces encoded once (the texts come from small pools);
        every 1000th note is also hashed by the application's own function and the load stops if the
        two ever differ (the canonical form changed there and not here).
        """
        text = self._json
        outcomes = ",".join(f"[{n},{text(p)}]" for n, p in progress.items())  # sorted by outcome
        canonical = (
            f'{{"agreements":{text(agreements)},"appointment":{appointment_id},"desk":{desk_id},'
            f'"ends_at":"{ends_at.isoformat()}","needs_attention":{"true" if attention else "false"},'
            f'"note":{note_id},"outcomes":[{outcomes}],"referral_other":{text(referral_other)},'
            f'"referrals":[{",".join(map(text, referrals))}],"starts_at":"{starts_at.isoformat()}",'
            f'"summary":{text(summary)},"topics":{text(topics)},"tutor":{tutor_id},'
            f'"young_person":{text(self.codes[person_id])}}}')
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        if note_id % 1000 == 1:
            note = SimpleNamespace(
                id=note_id, author_id=tutor_id, young_person=SimpleNamespace(code=self.codes[person_id]),
                appointment=SimpleNamespace(id=appointment_id, desk_id=desk_id, starts_at=starts_at, ends_at=ends_at),
                outcomes=[SimpleNamespace(outcome=n, progress=p) for n, p in progress.items()],
                topics=topics, summary=summary, agreements=agreements, referral_codes=referrals,
                referral_other=referral_other, needs_attention=attention)
            if note_services.content_hash(note) != digest:
                raise RuntimeError(f"Nota {note_id}: l'impronta calcolata qui differisce da quella dell'applicazione.")
        return digest

    def _json(self, value: str) -> str:
        """A string as canonical JSON text (json.dumps, ensure_ascii=False), remembered: the pools are small."""
        encoded = self.encoded.get(value)
        if encoded is None:
            encoded = self.encoded[value] = json.dumps(value, ensure_ascii=False)
        return encoded

    def _ticket(self, plan: DeskPlan, received: datetime, sink, *, person_id: int | None = None,
                appointment_id: int | None = None) -> None:
        rng = self.rng
        ticket_id = self.next_id("tickets")
        age_days = (self.now - received).days
        if appointment_id is not None:
            status, outcome = ("closed", "prenotato") if age_days > 60 else ("booked", None)
        elif age_days > 45:
            status, outcome = "closed", rng.choice(TICKET_OUTCOMES)
        else:
            status = rng.choices(("new", "in_progress", "waiting", "closed"), (35, 30, 15, 20))[0]
            outcome = rng.choice(TICKET_OUTCOMES) if status == "closed" else None
        topic = rng.choice(plan.services + ("altro",))
        operator_id = rng.choice(plan.operator_ids) if plan.operator_ids and status != "new" else None
        channel = rng.choice(("web", "web", "web", "telefono", "sportello", "email", "scuola"))
        age = rng.randint(13, 30)
        closed_at = received + timedelta(days=rng.randint(1, 20)) if status == "closed" else None
        closed_at = min(closed_at, self.now) if closed_at else None
        town = plan.town_id
        email = "" if rng.random() < 0.3 else f"richiesta{ticket_id}@example.org"
        sink.add("tickets", (
            ticket_id, format_reference(received.year, ticket_id), channel, status, outcome,
            "urgent" if rng.random() < 0.05 else "normal", rng.choice(FIRST_F + FIRST_M), age, town, "",
            f"3{rng.randrange(10**8, 10**9)}" if not email or rng.random() < 0.7 else "", email, topic,
            rng.choice(("Pomeriggio", "Mattina", "Dopo le 16", "")), None, MESSAGES.get(topic, MESSAGES["altro"]),
            "Istituto comprensivo" if channel == "scuola" else "", "Genitore" if age < 14 else "",
            "Telefono del genitore" if age < 14 else "", age < 14, received, PRIVACY_VERSION, plan.desk_id,
            operator_id, status != "new", person_id,
            operator_id if channel in ("telefono", "sportello") and operator_id else None, received,
            closed_at or received, closed_at, 1))
        if appointment_id is not None:
            sink.add("ticket_appointments", (ticket_id, appointment_id))
            self.counts.add("ticket_appointments")
        self.counts.add("tickets")


# --- Entry point ----------------------------------------------------------------------------

BULK_EMPTY_CHECK = ("desks", "young_people", "appointments", "notes", "tickets")


def generate(scale: float, seed_value: int = 2026, today: date | None = None,
             log: Callable[[str], None] = print, history_days: int | None = None) -> Counts:
    """Fill the current (migrated, empty) database; returns the rows written per table.

    `history_days` shortens the ten years (tests: a small, fast dataset with the same shape).
    """
    from app.auth.services import hash_password

    engine = db.engine
    for table in BULK_EMPTY_CHECK:
        if db.session.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first():  # noqa: S608 - fixed names
            raise RuntimeError(f"La tabella {table} non è vuota: bench-data vuole un database appena migrato.")
    today = today or datetime.now(ROME).date()
    started = clock.perf_counter()
    generator = Generator(scale, seed_value, today, log, history_days)
    plans = generator.network(hash_password(BENCH_PASSWORD))
    log(f"Rete: {len(plans)} sportelli ({clock.perf_counter() - started:.1f} s)")
    postgres = engine.dialect.name == "postgresql"
    # One transaction for everything (the ORM network included): a failure leaves the database as it was.
    connection = db.session.connection()
    lifted: list[tuple[str, str]] = []
    if postgres:
        for setting in ("maintenance_work_mem = '1GB'", "work_mem = '256MB'", "max_parallel_maintenance_workers = 2",
                        "synchronous_commit = off"):
            connection.execute(sa.text(f"SET LOCAL {setting}"))
        drops, creates = _pg_deferrable(connection)
        for statement in drops:
            connection.execute(sa.text(statement))
        # Empty already (checked above); truncated in this transaction so that COPY may FREEZE its rows.
        connection.execute(sa.text(f"TRUNCATE {', '.join(COLUMNS)}"))
        lifted = _pg_insert_triggers(connection)
        for table, trigger in lifted:
            connection.execute(sa.text(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"'))
        sink = PostgresSink(connection)
    else:
        sink = SqliteSink(connection)
    try:
        generator.people(plans, sink)
        sink.flush()
        log(f"Giovani: {generator.counts.rows['young_people']} ({clock.perf_counter() - started:.1f} s)")
        generator.activity(plans, sink)
        log(f"Righe generate ({clock.perf_counter() - started:.1f} s)")
        sink.load(connection, log)
    finally:
        sink.close()  # also on failure: the writer thread ends before the transaction does
    log(f"Righe caricate ({clock.perf_counter() - started:.1f} s)")
    for table, trigger in lifted:
        violation = connection.execute(sa.text(INSERT_TRIGGER_CHECKS[table, trigger])).first()
        if violation is not None:
            raise RuntimeError(f"{table}: una riga viola ciò che {trigger} garantisce ({tuple(violation)}).")
        connection.execute(sa.text(f'ALTER TABLE {table} ENABLE TRIGGER "{trigger}"'))
    # Finalise: the notes whose hash is known become final, as the editor's "Finalizza" does.
    connection.execute(sa.text(
        "UPDATE notes SET status = 'final', finalised_at = saved_at, finalised_by_id = author_id "
        "WHERE content_hash IS NOT NULL"))
    log(f"Note finalizzate ({clock.perf_counter() - started:.1f} s)")
    if postgres:
        for statement in creates:
            step = clock.perf_counter()
            connection.execute(sa.text(statement))
            if clock.perf_counter() - step > 2:
                log(f"  {statement[:90]}… {clock.perf_counter() - step:.1f} s")
        for table in SEQUENCED:
            connection.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        log(f"Indici e vincoli ricreati ({clock.perf_counter() - started:.1f} s)")
    db.session.commit()
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # The visibility map and statistics, as autovacuum leaves a long-lived database (index-only
            # scans); the frozen COPY pages are skipped, the finalised notes' old versions are removed.
            for table in COLUMNS:
                connection.execute(sa.text(f"VACUUM (ANALYZE) {table}"))
    log(f"Fatto in {clock.perf_counter() - started:.1f} s")
    return generator.counts


def sqlalchemy_url(url: str) -> str:
    """postgresql://… (libpq style) as the psycopg 3 URL the app uses; other URLs unchanged."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def digest(counts: Counts) -> str:
    """A short fingerprint of what was generated (rows per table)."""
    return hashlib.sha256(repr(sorted(counts.rows.items())).encode()).hexdigest()[:12]


def summary_lines(counts: Counts) -> Iterable[str]:
    for table, n in counts.rows.items():
        yield f"  {table:<22} {n:>10}"

