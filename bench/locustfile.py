"""Load for `make bench`: operators, tutors and dashboard readers on the main journeys (locust, headless).

Started by bench/run.py, which prepares the data and passes it in BENCH_FIXTURE (a JSON file):
accounts with their authenticator secrets, each operator's desk and young people, each tutor's
draft notes and archived final notes, and the monitoring routes when they exist.

Every account is used by exactly one simulated session (a second factor code is accepted once
per account and time step). Request names are the route names of the results table; a booking
that loses its slot to another session (409) is an expected outcome, reported apart, not an error.
"""

from __future__ import annotations

import json
import os
import random
import re
from datetime import UTC, datetime, timedelta

import gevent
import pyotp
from locust import HttpUser, between, events, task

FIXTURE = json.loads(open(os.environ["BENCH_FIXTURE"], encoding="utf-8").read())  # noqa: SIM115
HTMX = {"HX-Request": "true"}
CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')
FORM_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SLOT_RE = re.compile(r'name="slot" value="([^"]+)"')
REVISION_RE = re.compile(r'id="note-revision" value="(\d+)"')
FLOOR = "floor: /healthz"

_pools = {role: list(FIXTURE[role]) for role in ("operators", "tutors", "readers")}
PER_ROLE = int(os.environ.get("BENCH_USERS_PER_ROLE", "20"))
DURATION = float(os.environ.get("BENCH_DURATION", "60"))
WARM_UP = 15.0  # the sign-ins' queue drains before the measured time starts
_started = {"sessions": 0}


def _session_ready(environment) -> None:
    """When every session has signed in (or failed to), the measured run starts: stats reset, timer set."""
    _started["sessions"] += 1
    if _started["sessions"] == 3 * PER_ROLE:
        print(f"bench: all {3 * PER_ROLE} sessions signed in; {WARM_UP:.0f} s to settle, then {DURATION:.0f} s "
              "measured", flush=True)
        gevent.spawn_later(WARM_UP, _measure, environment)


def _measure(environment) -> None:
    environment.runner.stats.reset_all()
    gevent.spawn_later(DURATION, environment.runner.quit)


@events.quitting.add_listener
def _write_histograms(environment, **_kwargs) -> None:
    """Each route's response times of the measured time (locust's rounded histogram), for run.py to pool rounds."""
    path = os.environ.get("BENCH_HISTOGRAMS")
    if not path:
        return
    # One entry per (name, method), as locust keeps them: run.py adds up the entries of a name.
    entries = [{"name": entry.name, "count": entry.num_requests, "failures": entry.num_failures,
                "times": entry.response_times} for entry in environment.runner.stats.entries.values()]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(entries, handle)


def _next_account(role: str) -> dict:
    return _pools[role].pop(0)


@events.test_start.add_listener
def _check_pools(environment, **_kwargs):
    for role, pool in _pools.items():
        if not pool:
            raise RuntimeError(f"no {role} accounts in the fixture")


class Session(HttpUser):
    """Signs in through the real forms (password, then the authenticator code) and keeps the CSRF token."""

    abstract = True
    # A person at work: a few seconds between clicks (reading, typing, on the phone), not a robot.
    wait_time = between(5, 15)
    role = ""

    def on_start(self) -> None:
        try:
            self._sign_in()
        finally:
            _session_ready(self.environment)

    def _sign_in(self) -> None:
        self.account = _next_account(self.role)
        page = self.client.get("/login", name="sign-in")
        token = FORM_CSRF_RE.search(page.text).group(1)
        answer = self.client.post("/login", name="sign-in", allow_redirects=False, data={
            "csrf_token": token, "email": self.account["email"], "password": FIXTURE["password"], "next": ""})
        if answer.headers.get("Location", "").endswith("/login/codice"):
            page = self.client.get("/login/codice", name="sign-in")
            token = FORM_CSRF_RE.search(page.text).group(1)
            code = pyotp.TOTP(self.account["totp"]).now()
            answer = self.client.post("/login/codice", name="sign-in", allow_redirects=False,
                                      data={"csrf_token": token, "code": code})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in of {self.account['email']} failed: {answer.status_code}")
        home = self.client.get("/", name="sign-in")
        self.csrf = CSRF_RE.search(home.text).group(1)

    @task(1)
    def floor(self) -> None:
        self.client.get("/healthz", name=FLOOR)


class Operator(Session):
    """A desk operator on the phone: the desk's week, the slot picker, a booking, the helpdesk queue."""

    role = "operators"
    fixed_count = PER_ROLE

    @task(2)
    def desk_week(self) -> None:
        self.client.get(f"/orari/{self.account['desk']}/calendario", name="desk calendar week")

    @task(4)
    def book(self) -> None:
        person = random.choice(self.account["people"])
        service = random.choice(self.account["services"])
        query = {"person": person, "service": service, "desk": self.account["desk"]}
        picker = self.client.get("/appuntamenti/nuovo", params=query, headers=HTMX, name="slot picker (fragment)")
        slots = SLOT_RE.findall(picker.text)
        if not slots:
            return
        form = {**query, "slot": random.choice(slots), "mode": "presenza", "sessions": "1", "confirm_path": ""}
        with self.client.post("/appuntamenti", data=form, headers={"X-CSRFToken": self.csrf},
                              allow_redirects=False, name="booking POST", catch_response=True) as answer:
            if answer.status_code == 409:
                answer.success()
                answer.request_meta["name"] = "booking POST: slot taken (409, expected)"
            elif answer.status_code != 303:
                answer.failure(f"booking answered {answer.status_code}")

    @task(2)
    def helpdesk_search(self) -> None:
        self.client.get("/richieste", params={"stato": "aperte", "q": random.choice(FIXTURE["names"])},
                        headers=HTMX, name="helpdesk queue search (fragment)")

    @task(1)
    def people_search(self) -> None:
        self.client.get("/giovani", params={"q": random.choice(FIXTURE["names"])}, headers=HTMX,
                        name="people search (fragment)")


class Tutor(Session):
    """A tutor: today's agenda, the note of the session just held (saved as they type), a final note's PDF."""

    role = "tutors"
    fixed_count = PER_ROLE

    def _sign_in(self) -> None:
        super()._sign_in()
        self.revisions = {a: None for a in self.account["drafts"]}

    @task(3)
    def agenda(self) -> None:
        self.client.get("/agenda", name="tutor agenda")

    @task(3)
    def autosave(self) -> None:
        if not self.revisions:
            return
        appointment = random.choice(list(self.revisions))
        revision = self.revisions[appointment]
        if revision is None:  # the editor page gives the revision the draft is at
            page = self.client.get(f"/appuntamenti/{appointment}/nota", name="note editor")
            found = re.search(r'name="revision"[^>]*value="(\d+)"', page.text)
            revision = int(found.group(1)) if found else 0
        words = " ".join(random.sample(FIXTURE["words"], 12))
        data = {"revision": str(revision), "topics": "Orientamento", "summary": f"Appunti del colloquio: {words}.",
                "agreements": "Rivedersi tra due settimane.", "outcome_1": "on", "progress_1": "in_corso"}
        with self.client.post(f"/appuntamenti/{appointment}/nota", data=data,
                              headers={**HTMX, "X-CSRFToken": self.csrf}, name="note autosave (fragment)",
                              catch_response=True) as answer:
            saved = REVISION_RE.search(answer.text or "")
            if answer.status_code != 200 or saved is None:
                answer.failure(f"autosave not saved ({answer.status_code})")
                self.revisions[appointment] = None
            else:
                self.revisions[appointment] = int(saved.group(1))

    @task(1)
    def notes_list(self) -> None:
        self.client.get("/note", name="notes list")

    @task(2)
    def pdf(self) -> None:
        if self.account["pdf_notes"]:
            self.client.get(f"/note/{random.choice(self.account['pdf_notes'])}/nota.pdf",
                            name="note PDF download (archived)")


class Reader(Session):
    """The Ufficio di Piano, team leads, town contacts, Città Metropolitana: the dashboard and its CSV."""

    role = "readers"
    fixed_count = PER_ROLE
    wait_time = between(30, 90)  # a dashboard is read, not clicked through

    @task(3)
    def dashboard(self) -> None:
        if FIXTURE.get("dashboard"):
            self.client.get(FIXTURE["dashboard"], name="monitoring dashboard")

    @task(1)
    def dashboard_custom(self) -> None:
        """A period nobody asked for yet (random start and end day): not warmed, computed on demand."""
        if FIXTURE.get("dashboard"):
            today = datetime.now(UTC).date()
            start = today - timedelta(days=random.randint(200, 330))
            end = today - timedelta(days=random.randint(0, 60))
            self.client.get(f"{FIXTURE['dashboard']}?dal={start.isoformat()}&al={end.isoformat()}",
                            name="monitoring dashboard (custom filter, cold)")

    @task(1)
    def export(self) -> None:
        if FIXTURE.get("export"):
            self.client.get(FIXTURE["export"], name="monitoring CSV export")
