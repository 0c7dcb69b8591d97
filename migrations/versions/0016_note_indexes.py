"""notes: the session start copied onto each note, and the indexes of the notes list (issue 11)

The notes list shows the readable notes newest session first, 50 a page (keyset cursor). The
session start lived only on the appointment, so every page joined and sorted the whole scope
(tutor01.1 at scale 1: ~30,000 readable notes, 0.8-1.8 s). Measured with EXPLAIN ANALYZE on
hub_bench_s1 (600,000 notes, 1,000,000 appointments):

- notes.session_starts_at: a copy of the appointment's start, like young_person_id. Kept by
  triggers, not by the application: filled on insert (also by COPY and raw SQL; a value given for
  a note whose appointment is not there yet, as a bulk load may do, is kept), re-read when a
  note's appointment changes, and followed when an appointment's start changes (today a reschedule
  makes a new appointment, so this never fires; the copy stays right if that ever changes).
- ix_notes_author_session (author_id, session_starts_at, id), INCLUDE (status, young_person_id) on
  PostgreSQL: the list walks each author of the scope newest first (one backward index-only scan
  per tutor of the organisation, merged) and stops after the page. Walking the appointments of
  each tutor instead read ~30,000 buffers (the eight weeks ahead have no notes yet), 65 ms;
  this walk reads ~90 buffers, 0.6 ms.
- ix_notes_session (session_starts_at, id): the same walk over every note for the Ufficio di Piano
  (break-glass list: final notes on records that are not protected, any author).
- ix_notes_attention_open (session_starts_at) WHERE needs_attention AND final AND not yet seen:
  "Da attenzionare" reads only the open flags (a few hundred) instead of every note.
- ix_appointments_person_tutor (young_person_id, tutor_id): "has this young person met this
  tutor", the tutor's reading scope asked once per listed note of a colleague: an index-only probe
  instead of reading the person's appointments (tutor page: 10 ms -> 3 ms for the whole statement).

Tutor's first page at scale 1, database time: 1,100 ms (the whole scope sorted) -> ~3 ms.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-26 12:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None

OPEN_ATTENTION = "needs_attention AND status = 'final' AND attention_seen_at IS NULL"


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("notes", sa.Column("session_starts_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notes SET session_starts_at = "
               "(SELECT starts_at FROM appointments WHERE appointments.id = notes.appointment_id)")
    if postgres:
        op.execute("ALTER TABLE notes ALTER COLUMN session_starts_at SET NOT NULL")
        op.execute(
            "CREATE FUNCTION notes_session_start() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN NEW.session_starts_at := COALESCE((SELECT starts_at FROM appointments WHERE id = NEW.appointment_id), "
            "NEW.session_starts_at); RETURN NEW; END $$")
        op.execute("CREATE TRIGGER tr_notes_session_start BEFORE INSERT OR UPDATE OF appointment_id, "
                   "session_starts_at ON notes FOR EACH ROW EXECUTE FUNCTION notes_session_start()")
        op.execute(
            "CREATE FUNCTION appointments_start_to_notes() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE notes SET session_starts_at = NEW.starts_at WHERE appointment_id = NEW.id; "
            "RETURN NULL; END $$")
        op.execute("CREATE TRIGGER tr_appointments_start_to_notes AFTER UPDATE OF starts_at ON appointments "
                   "FOR EACH ROW WHEN (NEW.starts_at IS DISTINCT FROM OLD.starts_at) "
                   "EXECUTE FUNCTION appointments_start_to_notes()")
    else:
        copy = ("UPDATE notes SET session_starts_at = COALESCE((SELECT starts_at FROM appointments "
                "WHERE appointments.id = NEW.appointment_id), NEW.session_starts_at) WHERE id = NEW.id; ")
        op.execute(f"CREATE TRIGGER tr_notes_session_start AFTER INSERT ON notes BEGIN {copy}END")
        op.execute("CREATE TRIGGER tr_notes_session_start_update AFTER UPDATE OF appointment_id, session_starts_at "
                   f"ON notes BEGIN {copy}END")
        op.execute("CREATE TRIGGER tr_appointments_start_to_notes AFTER UPDATE OF starts_at ON appointments "
                   "WHEN NEW.starts_at IS NOT OLD.starts_at BEGIN "
                   "UPDATE notes SET session_starts_at = NEW.starts_at WHERE appointment_id = NEW.id; END")
    op.create_index("ix_notes_author_session", "notes", ["author_id", "session_starts_at", "id"],
                    postgresql_include=["status", "young_person_id"])
    op.create_index("ix_notes_session", "notes", ["session_starts_at", "id"])
    op.create_index("ix_notes_attention_open", "notes", ["session_starts_at"],
                    postgresql_where=sa.text(OPEN_ATTENTION), sqlite_where=sa.text(OPEN_ATTENTION))
    op.create_index("ix_appointments_person_tutor", "appointments", ["young_person_id", "tutor_id"])


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_appointments_person_tutor", table_name="appointments")
    op.drop_index("ix_notes_attention_open", table_name="notes")
    op.drop_index("ix_notes_session", table_name="notes")
    op.drop_index("ix_notes_author_session", table_name="notes")
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS tr_appointments_start_to_notes ON appointments")
        op.execute("DROP FUNCTION IF EXISTS appointments_start_to_notes()")
        op.execute("DROP TRIGGER IF EXISTS tr_notes_session_start ON notes")
        op.execute("DROP FUNCTION IF EXISTS notes_session_start()")
    else:
        for name in ("tr_appointments_start_to_notes", "tr_notes_session_start_update", "tr_notes_session_start"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("ALTER TABLE notes DROP COLUMN session_starts_at")
