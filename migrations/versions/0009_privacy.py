"""privacy: consent text versions and consent records; erasure marks on young people (issue 9)

Existing young people get consent records rebuilt from their registration columns
(privacy_consent_at, privacy_text_version, guardian_consent), so every record has a history.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:10:00

"""
from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# A snapshot of app/privacy/texts.py at this revision.
TEXT_2026_01 = (
    "Titolare del trattamento è il Comune di Pioltello, capofila del progetto «L'Hub dei Talenti», tramite "
    "l'Ufficio di Piano — Distretto Sociale Est Milano (via C. Cattaneo 1, 20096 Pioltello MI).\n\n"
    "I dati (nome, data di nascita, comune, recapiti, condizione di studio o lavoro, appuntamenti e note "
    "dei colloqui) servono a organizzare orientamento, tutoraggio e ascolto. Le note possono contenere dati "
    "di natura particolare (salute, disagio, violenza) indispensabili al percorso.\n\n"
    "Con la spunta «Ho letto l'informativa privacy alla persona e ho raccolto il consenso» l'operatore "
    "attesta di aver letto questa informativa alla persona e di averne raccolto il consenso al trattamento, "
    "compresi i dati di natura particolare. Sotto i 14 anni il consenso è dato da un genitore o da chi ne fa "
    "le veci, di cui si registrano nome e recapito.\n\n"
    "Il consenso si può revocare in ogni momento rivolgendosi allo sportello o all'Ufficio di Piano; la "
    "revoca non rende illecito il trattamento già svolto. Restano i diritti di accesso, rettifica, "
    "cancellazione, limitazione, portabilità e opposizione, e il reclamo al Garante per la protezione dei "
    "dati personali."
)


def upgrade():
    texts = op.create_table('consent_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("version <> ''", name=op.f('ck_consent_texts_version_given')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_texts')),
    sa.UniqueConstraint('version', name=op.f('uq_consent_texts_version'))
    )
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('young_person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('text_version', sa.String(length=20), nullable=False),
    sa.Column('given_by', sa.String(length=16), nullable=False),
    sa.Column('given_by_name', sa.String(length=120), nullable=False),
    sa.Column('collected_by_id', sa.Integer(), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('notice', 'special_categories', 'guardian')", name=op.f('ck_consent_records_kind_known')),
    sa.CheckConstraint("given_by IN ('self', 'guardian')", name=op.f('ck_consent_records_given_by_known')),
    sa.CheckConstraint('withdrawn_at IS NULL OR withdrawn_at >= given_at', name=op.f('ck_consent_records_withdrawn_after_given')),
    sa.ForeignKeyConstraint(['collected_by_id'], ['users.id'], name=op.f('fk_consent_records_collected_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['text_version'], ['consent_texts.version'], name=op.f('fk_consent_records_text_version_consent_texts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_consent_records_withdrawn_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['young_person_id'], ['young_people.id'], name=op.f('fk_consent_records_young_person_id_young_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index('ix_consent_records_person', ['young_person_id', 'given_at'], unique=False)

    # Plain ADD COLUMN on both databases: rebuilding young_people on SQLite (batch mode) would drop a table
    # that many others reference while foreign keys are on.
    op.add_column('young_people', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('young_people', sa.Column('erasure_reason', sa.String(length=300), nullable=False,
                                            server_default=''))
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('young_people', sa.Column('erased_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_young_people_erased_by_id_users'), 'young_people', 'users',
                              ['erased_by_id'], ['id'], ondelete='SET NULL')
    else:
        op.execute("ALTER TABLE young_people ADD COLUMN erased_by_id INTEGER "
                   "CONSTRAINT fk_young_people_erased_by_id_users REFERENCES users (id) ON DELETE SET NULL")

    op.bulk_insert(texts, [{
        'version': '2026-01', 'title': "Informativa e consensi per i giovani e le famiglie — L'Hub dei Talenti",
        'body': TEXT_2026_01, 'effective_from': date(2026, 1, 1), 'created_at': datetime.now(timezone.utc),
    }])
    # Rebuild the history of people registered before consent records existed (unknown versions become 2026-01).
    op.execute(
        "INSERT INTO consent_records (young_person_id, kind, text_version, given_by, given_by_name, collected_by_id, "
        "given_at) SELECT id, 'notice', '2026-01', CASE WHEN guardian_consent THEN 'guardian' ELSE 'self' END, "
        "CASE WHEN guardian_consent THEN guardian_name ELSE '' END, privacy_collected_by_id, privacy_consent_at "
        "FROM young_people")
    op.execute(
        "INSERT INTO consent_records (young_person_id, kind, text_version, given_by, given_by_name, collected_by_id, "
        "given_at) SELECT id, 'guardian', '2026-01', 'guardian', guardian_name, privacy_collected_by_id, "
        "privacy_consent_at FROM young_people WHERE guardian_consent")
    op.execute(
        "INSERT INTO consent_records (young_person_id, kind, text_version, given_by, given_by_name, collected_by_id, "
        "given_at) SELECT id, 'special_categories', '2026-01', CASE WHEN guardian_consent THEN 'guardian' ELSE 'self' "
        "END, CASE WHEN guardian_consent THEN guardian_name ELSE '' END, privacy_collected_by_id, privacy_consent_at "
        "FROM young_people")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('fk_young_people_erased_by_id_users'), 'young_people', type_='foreignkey')
    # SQLite 3.35+ drops plain columns in place (the foreign key of erased_by_id goes with it).
    op.drop_column('young_people', 'erased_by_id')
    op.drop_column('young_people', 'erasure_reason')
    op.drop_column('young_people', 'erased_at')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_person')
    op.drop_table('consent_records')
    op.drop_table('consent_texts')
