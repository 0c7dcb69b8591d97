"""Fail clearly when the PostgreSQL used by the suite cannot be reached."""

import os
import sys

import sqlalchemy as sa

url = sa.make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
url = url.set(drivername="postgresql+psycopg")
try:
    with sa.create_engine(url, connect_args={"connect_timeout": 5}).connect() as conn:
        conn.execute(sa.text("SELECT 1"))
except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
    print(f"ERROR: PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable: {exc}", file=sys.stderr)
    print("       start it (see README, 'Sviluppo') or set TEST_DATABASE_URL.", file=sys.stderr)
    sys.exit(1)
