"""Real processes for the ops tests: gunicorn instances, flask commands, an SMTP sink, an HTTP client.

Everything listens on 127.0.0.1 on free ports; every helper is a context manager that
stops what it started, and every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from app.config import TestingConfig
from tests.conftest import DEMO_PASSWORD, totp_code

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEOUT = 30


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = TIMEOUT) -> None:
    """Poll until something accepts connections on the port (fails if the process died first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"process exited with {process.returncode} before listening on {port}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {port} after {timeout}s") from None
            time.sleep(0.05)  # polling a port, not timing the test


def node_env(*, database_url: str, tmp: Path, overrides: dict | None = None, **env: str) -> dict[str, str]:
    """Environment of one production-like node: HUB_ENV=production, its own instance dir, our overrides."""
    instance = tmp / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    result = {
        **os.environ,
        "HUB_ENV": "production",
        "HUB_ALLOW_SQLITE": "1",
        "SECRET_KEY": "ops-test-secret-" + "k" * 40,
        # The test process enrols second factors (make_user): nodes must read the same secrets.
        "HUB_TOTP_KEY": TestingConfig.TOTP_ENCRYPTION_KEY,
        "DATABASE_URL": database_url,
        "HUB_INSTANCE_DIR": str(instance),
        "HUB_ARCHIVE_DIR": str(tmp / "archive"),
        # The tests drive delivery themselves (`send-outbox` as cron would), so nodes don't also
        # deliver right after each request: which of the two got there first would be a race.
        "MAIL_BACKGROUND_DELIVERY": "0",
        "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
        "MAIL_TIMEOUT": "60",
        "REDIS_URL": "",
        "MAIL_SERVER": "",
        "PYTHONPATH": str(ROOT),
        "FLASK_APP": "tests.ops.ops_wsgi",
        "HUB_TEST_OVERRIDES": json.dumps(overrides or {}),
    }
    result.update(env)
    return result


class Node:
    """A running gunicorn instance: its port, process and log file."""

    def __init__(self, port: int, process: subprocess.Popen, log: Path):
        self.port = port
        self.process = process
        self.log = log

    def log_lines(self) -> list[str]:
        """What the instance wrote to stdout/stderr so far."""
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []

    def worker_pids(self) -> list[int]:
        """Pids of the gunicorn workers (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


# The production worker model (docs/deploy.md, bench/run.py): threads share a worker's process.
GTHREAD = ("--worker-class", "gthread", "--threads", "4")


@contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int = 2, timeout: int = 30, preload: bool = True) \
        -> Iterator[Node]:
    """gunicorn serving tests.ops.ops_wsgi on a free port; always stopped (SIGTERM, then SIGKILL).

    Threaded workers as in production (docs/deploy.md: gthread, GUNICORN_THREADS per worker).
    --preload imports the app once in the master and forks the workers (quick on a busy machine).
    """
    port = free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), *GTHREAD, "-b", f"127.0.0.1:{port}", "--timeout", str(timeout),
         "--graceful-timeout", "5", *(["--preload"] if preload else []), "tests.ops.ops_wsgi:app"],
        cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_for_port(port, process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"gunicorn did not start: {error}\n{log.read_text()[-3000:]}") from None
        yield Node(port, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        handle.close()


def flask(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start a `flask` command of the node described by env (the caller waits for it)."""
    return subprocess.Popen([str(BIN / "flask"), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run_together(commands: list[tuple[dict[str, str], tuple[str, ...]]], timeout: float = 60) -> list[str]:
    """Start several flask commands at once, wait for all; returns their outputs (fails on a non-zero exit)."""
    processes = [flask(env, *args) for env, args in commands]
    outputs = []
    try:
        for process in processes:
            out, _ = process.communicate(timeout=timeout)
            assert process.returncode == 0, out[-3000:]
            outputs.append(out)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    return outputs


class HttpClient:
    """One browser against one or more nodes: cookies and CSRF token, a fresh connection per request."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def connection(self, port: int | None = None, timeout: float = TIMEOUT) -> http.client.HTTPConnection:
        """A connected connection, to open before a burst so every request can leave at the same instant."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        conn.connect()
        return conn

    def request(self, method: str, path: str, form: dict | None = None, *, port: int | None = None,
                htmx: bool = False, timeout: float = TIMEOUT, conn: http.client.HTTPConnection | None = None) \
            -> tuple[int, str, dict]:
        """Send one request (on `conn`, or to `port`, default this client's node); returns (status, body, headers)."""
        conn = conn or http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if htmx:
            headers["HX-Request"] = "true"
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.csrf}, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.csrf
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
            return response.status, text, dict(response.headers)
        finally:
            conn.close()

    def refresh_csrf(self, port: int | None = None) -> None:
        """Read the CSRF token from a page (it is tied to the session)."""
        status, page, _ = self.request("GET", "/login" if not self.cookies else "/accessibilita", port=port)
        assert status == 200, page[:300]
        match = re.search(r'"X-CSRFToken": "([^"]+)"', page) or \
            re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        self.csrf = match.group(1)

    def login(self, email: str, password: str = DEMO_PASSWORD, port: int | None = None) -> int:
        """Post the sign-in form; returns the status (303 on success). Refreshes the CSRF token after."""
        if not self.csrf:
            self.refresh_csrf(port)
        status, _body, headers = self.request("POST", "/login", {"email": email, "password": password}, port=port)
        if status == 303 and headers.get("Location", "").startswith("/login/codice"):
            # Second factor: a fresh code of the account's authenticator (needs the test's app context).
            status, _body, headers = self.request("POST", "/login/codice", {"code": totp_code(email)}, port=port)
        if status == 303:
            self.refresh_csrf(port)
        return status


class Mailbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._controller = None
        self.reset()

    def reset(self, gate: int = 0) -> None:
        """Forget received messages. With gate=n, hold every message until n are in flight at once."""
        with self._lock:
            self.messages.clear()
        self.gate = gate
        self.gate_opened = False
        self._in_flight = 0
        self._gate_event = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        """Keep the message (recipients, raw bytes), after the gate if one is set."""
        import asyncio

        if self.gate and not self.gate_opened:
            self._gate_event = self._gate_event or asyncio.Event()
            self._in_flight += 1
            if self._in_flight >= self.gate:
                self.gate_opened = True
                self._gate_event.set()
            try:
                await asyncio.wait_for(self._gate_event.wait(), timeout=TIMEOUT)
            except TimeoutError:
                return "451 gate timeout"  # the sender keeps the message and retries later
        with self._lock:
            self.messages.append((",".join(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def start(self) -> Mailbox:
        """Listen on the port."""
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (the port refuses connections afterwards)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        """Subject lines of the received messages."""
        from email import message_from_bytes
        from email.header import decode_header, make_header

        with self._lock:
            raw = [content for _rcpt, content in self.messages]
        return [str(make_header(decode_header(message_from_bytes(c)["Subject"] or ""))) for c in raw]


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    """A running Mailbox, stopped at the end."""
    box = Mailbox().start()
    try:
        yield box
    finally:
        box.stop()
