"""PostgreSQL restarted under load, on a throwaway cluster of our own (never the machine's shared server).

initdb/pg_ctl from the PostgreSQL 15 binaries build a cluster (in the PostgreSQL run only) in a temporary folder on a
free port (as the `postgres` user when we run as root: initdb refuses root). An app
instance under gunicorn serves a steady load; the cluster is stopped, requests in the
gap must get the clean 503 page (no traceback, no dropped connection), and once it is
started again the same workers answer 200 without any restart (pool_pre_ping).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from tests.conftest import _migrate
from tests.ops import procs

pytestmark = pytest.mark.slow

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Cluster:
    """A private PostgreSQL cluster: start, stop, and the URL of its `hub` database."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-t", "60",
                        *args], check=True, capture_output=True, timeout=90)

    def init(self) -> None:
        """initdb with trust authentication for local connections only."""
        subprocess.run([*self.as_postgres, str(PG_BIN / "initdb"), "-D", str(self.folder / "data"), "-A", "trust",
                        "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Listen on 127.0.0.1:port only; no fsync (a test cluster)."""
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=50")
        self._ctl("-l", str(self.folder / "server.log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: disconnect every client, as a restart or a crash would)."""
        self._ctl("-m", mode, "stop")

    def url(self, database: str = "hub") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="module")
def cluster(database_url):
    """A throwaway PostgreSQL 15 cluster with a migrated `hub` database; removed at the end."""
    if not database_url.startswith("postgresql"):
        pytest.skip("runs once, in the PostgreSQL run (HUB_TEST_DB=postgresql)")
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL 15 server binaries in {PG_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(folder, procs.free_port())
    try:
        cluster.init()
        cluster.start()
        admin = sa.create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE hub"))
        admin.dispose()
        _migrate(cluster.url())
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass  # already stopped
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def operator_email(cluster):
    """The partner network and one operator in the private cluster's database."""
    from app import seed
    from app.auth.services import hash_password
    from app.models import Role, User
    from tests.conftest import DEMO_PASSWORD

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=cluster.url())
    with app.app_context():
        orgs = seed.seed_network()
        db.session.add(User(email="operatore@riavvio.test", full_name="Operatore Riavvio", role=Role.OPERATOR,
                            organisation_id=orgs["Students Lab"].id, password_hash=hash_password(DEMO_PASSWORD)))
        db.session.commit()
        db.engine.dispose()
    return "operatore@riavvio.test"


def test_postgresql_restart_under_load_gives_clean_503_and_recovers(cluster, operator_email, tmp_path):
    """Stop the cluster under load: only 200 or the 503 page; start it: the same workers answer 200 again."""
    env = procs.node_env(database_url=cluster.url(), tmp=tmp_path / "node")
    with procs.gunicorn(env, tmp_path / "node.log", workers=2) as node:
        browser = procs.HttpClient(node.port)
        assert browser.login(operator_email) == 303
        workers_before = sorted(node.worker_pids())
        results: list[tuple[str, int | str, str]] = []
        phase = {"name": "before"}
        stop = threading.Event()

        def load() -> None:
            paths = ["/", "/sportelli"]
            n = 0
            while not stop.is_set() and n < 2000:
                n += 1
                try:
                    status, body, _ = browser.request("GET", paths[n % 2], timeout=20)
                except OSError as error:  # a dropped connection is a failure, recorded
                    status, body = f"error: {type(error).__name__}", ""
                results.append((phase["name"], status, body))

        threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            _wait_for(lambda: len(results) >= 10, results)
            phase["name"] = "down"
            cluster.stop("fast")
            mark = len(results)
            _wait_for(lambda: sum(1 for r in results[mark:] if r[1] == 503) >= 6, results)
            phase["name"] = "restarted"
            cluster.start()
            mark = len(results)
            _wait_for(lambda: [r[1] for r in results[mark:]][-6:] == [200] * 6, results)  # recovered by itself
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert sorted(node.worker_pids()) == workers_before, "a worker was restarted"

    by_phase = Counter((name, status) for name, status, _body in results)
    assert set(status for _name, status, _body in results) <= {200, 503}, by_phase
    assert by_phase[("down", 503)] >= 6
    outage_pages = [body for _name, status, body in results if status == 503]
    assert all("Servizio non disponibile" in body and "Traceback" not in body for body in outage_pages)
    assert not any("Traceback" in line for line in node.log_lines() if not line.startswith("{"))


def _wait_for(condition, results: list, timeout: float = 60) -> None:
    """Poll a condition on the collected results (bounded; the failure shows what was seen)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, Counter((name, status) for name, status, _body in results)
        time.sleep(0.05)  # polling the load threads' results, not timing the test
