"""young_people: the register's search ignores accents as well as case (issue 11)

"nicolo" finds "Nicolò", "perche" finds "Perché". The search compares `hub_fold(name) LIKE
'%<folded word>%'` (app/people/services.py), and these trigram indexes answer it:

- hub_fold(text): lower case, and the accented Latin letters of FOLD_FROM turned into their plain
  letter, the same letters as `app.admin.services.fold()` folds in Python (the typed word is folded
  there; tests/people/test_folded_search.py checks that both agree, letter by letter). A name without
  accents (octet_length = char_length: pure ASCII) skips translate(), which costs ~5 us for a
  122-letter list; the rest is lower(). Written as one SQL expression with immutable functions only,
  so PostgreSQL inlines it: the query and the indexes see the same expression, and rechecking a
  candidate costs less than the ILIKE it replaces (50,000 last names: ~24 ms against ~30 ms).
- ix_young_people_{first,last}_name_folded_trgm: GIN (pg_trgm, 0012) over hub_fold(name).

Not the `unaccent` extension: its functions are STABLE, so an IMMUTABLE wrapper (needed for an
index) is not inlined; measured ~1.2 us a row, four times lower(); and it folds other letters than
the Python side. No extension is needed here: the database owner creates the function and the
indexes (PostgreSQL 15: CREATE on schema public is the owner's). The function uses pg_catalog only,
so a restore with an empty search_path rebuilds the indexes. The 0012 trigram indexes stay: the
privacy tools' search still uses ILIKE.

Measured on hub_bench_s1 (50,000 young people), function and indexes created in a transaction rolled
back, EXPLAIN (ANALYZE, TIMING OFF), operatore01, planning + execution, min of 10 (ILIKE -> folded):
"Rossi" 3.25 -> 3.04 ms, "Esposito" 2.35 -> 2.29, "De Luca" 4.77 -> 4.52, "ro" 7.67 -> 6.81 (the
same rows and buffers); "Nicolò" 1.76 -> 3.35 ms (its 733 candidates are not ASCII: translate() each);
"nicolo" found nothing, now the 733 Nicolò (3.5 ms). On SQLite (tests, development) the search folds
with a GLOB pattern instead (`app.admin.services.contains_folded`) and nothing is created.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 16:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# app.admin.services._FOLD_FROM / _FOLD_TO when this migration was written (a migration does not import
# the app: a later change to the letters needs a new migration, and the test above says so).
FOLD_FROM = ("àáâãäåāăąèéêëēėęěìíîïīįòóôõöøōőùúûüūůűųýÿçćčñńňśšşșźżžďťțřľĺğ"
             "ÀÁÂÃÄÅĀĂĄÈÉÊËĒĖĘĚÌÍÎÏĪĮÒÓÔÕÖØŌŐÙÚÛÜŪŮŰŲÝŸÇĆČÑŃŇŚŠŞȘŹŻŽĎŤȚŘĽĹĞ")
FOLD_TO = ("aaaaaaaaaeeeeeeeeiiiiiioooooooouuuuuuuuyycccnnnsssszzzdttrllg"
           "AAAAAAAAAEEEEEEEEIIIIIIOOOOOOOOUUUUUUUUYYCCCNNNSSSSZZZDTTRLLG")

FOLDED_INDEXES = {
    "ix_young_people_last_name_folded_trgm": "last_name",
    "ix_young_people_first_name_folded_trgm": "first_name",
}


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    # Not STRICT and no SET clause: either would stop PostgreSQL from inlining it.
    op.execute(
        "CREATE FUNCTION hub_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
        "SELECT lower(CASE WHEN octet_length($1) = char_length($1) THEN $1 "
        f"ELSE translate($1, '{FOLD_FROM}', '{FOLD_TO}') END) $$"
    )
    for name, column in FOLDED_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON young_people USING gin (hub_fold({column}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name in reversed(list(FOLDED_INDEXES)):
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP FUNCTION hub_fold(text)")
