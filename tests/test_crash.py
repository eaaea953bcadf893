"""A write under load is never half-done: the PostgreSQL server is killed during a burst of
officials' writes and restarted, and every acknowledged write is there with its change-log
entry, while every unacknowledged one is there wholly or not at all.

The test runs its own embedded cluster (it kills it). To be sure the kill lands in the middle
of writes, it first holds the lock of the change-log head, which every write takes after it has
changed its project and before it commits: the writers pile up there with their changes made
but not committed, and the server dies under them. A write whose project change committed apart
from its log entry would leave a project without its entry behind, which the checks find.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from geo.accounts import NewUser, add_user, issue_token
from geo.changelog import verify_stored
from geo.errors import AllimiError
from geo.settings import Settings
from geo.store import migrate, provision
from geo.store.database import engine_for, prepare
from tests import city
from tests.conftest import Server, free_port, serve

PROBLEM = "application/problem+json"
CLIENTS = 4
ANSWER_S = 8.0  # no answer may take longer, the server down or not
DOWN_S = 1.5  # how long the server stays dead
ACKS_AFTER_RESTART = 2  # acknowledged writes each client needs once the server is back
BURST_S = 40.0  # the whole burst, kill and restart included, ends within this
STREET = {"type": "LineString", "coordinates": [[126.9780, 37.5700], [126.9800, 37.5702]]}
# Every write waiting for a lock in the database (the change-log head, the next project code)
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND datname = current_database()"
)
CREATED = {  # what every create sends besides its own title and budget
    "category": "road",
    "project_type": "rehabilitation",
    "status": "preparation",
    "agency": "TEST-ROADS",
    "planned_start": "2027-03-01",
    "planned_end": "2027-09-30",
    "published": True,
    "geometry": STREET,
}
KEPT = ("title", "budget", "category", "project_type", "status", "agency", "planned_start",
        "planned_end")  # fmt: skip
EDITED = ("description", "progress_actual")


@dataclass(frozen=True)
class Site:
    settings: Settings
    cluster: provision.Cluster
    owner_url: str
    server: Server
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Attempt:
    """One write a client sent, and what it learnt of it."""

    kind: str  # create | edit
    values: dict[str, Any]
    code: str | None  # the project edited; a create's once acknowledged
    started: float
    status: int | None = None  # None: no answer within ANSWER_S, or the connection failed
    seconds: float = 0.0
    body: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status in (200, 201)


@dataclass
class Client:
    """Creates published projects and edits its own (If-Match), recording every write."""

    number: int
    site: Site
    stop: threading.Event
    attempts: list[Attempt] = field(default_factory=list)
    project: str | None = None
    version: str | None = None

    def run(self) -> None:
        with httpx.Client(base_url=self.site.server.base, timeout=ANSWER_S) as http:
            sent = 0
            while not self.stop.is_set():
                sent += 1
                if self.project is None or sent % 3 == 0:
                    done = self._create(http, sent)
                else:
                    done = self._edit(http, sent)
                if not done:
                    time.sleep(0.05)  # the server is down: do not spin

    def _send(self, http: httpx.Client, attempt: Attempt, method: str, url: str,
              headers: dict[str, str]) -> httpx.Response | None:  # fmt: skip
        self.attempts.append(attempt)
        try:
            response = http.request(method, url, json=attempt.values,
                                    headers={**self.site.auth, **headers})  # fmt: skip
        except httpx.HTTPError as exc:
            attempt.body = repr(exc)
            return None
        finally:
            attempt.seconds = time.monotonic() - attempt.started
        attempt.status, attempt.body = response.status_code, response.text
        return response if attempt.acknowledged else None

    def _create(self, http: httpx.Client, sent: int) -> bool:
        values = {**CREATED, "title": f"붕괴 시험 {self.number}-{sent}",
                  "budget": str(1_000_000 * (100 * self.number + sent))}  # fmt: skip
        attempt = Attempt("create", values, None, time.monotonic())
        response = self._send(http, attempt, "POST", "/api/projects", {})
        if response is None:
            return False
        attempt.code = response.json()["code"]
        self.project, self.version = attempt.code, response.json()["version"]
        return True

    def _edit(self, http: httpx.Client, sent: int) -> bool:
        assert self.project is not None
        if self.version is None:  # the last write's outcome is unknown: read where it stands
            with suppress(httpx.HTTPError):
                shown = http.get(f"/api/projects/{self.project}")
                if shown.status_code == 200:
                    self.version = shown.json()["properties"]["version"]
            if self.version is None:
                return False
        values = {"description": f"수정 {self.number}-{sent}", "progress_actual": f"{sent % 100}.5"}
        attempt = Attempt("edit", values, self.project, time.monotonic())
        response = self._send(http, attempt, "PATCH", f"/api/projects/{self.project}",
                              {"If-Match": f'"{self.version}"'})  # fmt: skip
        self.version = response.json()["version"] if response is not None else None
        return response is not None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The hand-made test city, an official and the portal, on a cluster of this test's own."""
    settings = Settings(
        database_url=None,
        read_database_url=None,
        write_database_url=None,
        state_dir=tmp_path_factory.mktemp("crash"),
        pg_port=free_port(),
        db_name="allimi_crash",
        version_ttl=0,
        rate_per_s=10_000,
        rate_burst=10_000,
    )
    try:
        url = prepare(settings)
        migrate.upgrade(url)
        engine = engine_for(url)
        with engine.begin() as conn:
            city.build(conn)
            user = add_user(conn, NewUser("roads@allimi.test", "roads", "official",
                                          "a long enough password", "TEST-ROADS"))  # fmt: skip
            token, _ = issue_token(conn, user, "session", None, 3600)
        engine.dispose()
        cluster = provision.start_local(settings)
        for running in serve(settings):
            yield Site(settings, cluster, url, running, token)
    finally:
        with suppress(AllimiError):
            provision.stop_local(settings)
        shutil.rmtree(provision.cluster_root(settings), ignore_errors=True)


def _pg_ctl(cluster: provision.Cluster, *args: str) -> None:
    done = subprocess.run(
        [str(cluster.bindir / "pg_ctl"), *args, "-D", str(cluster.data_dir)],
        capture_output=True, text=True, check=False, cwd="/", user=cluster.run_as,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _acks(clients: list[Client], since: float) -> int:
    """The fewest acknowledged writes any client sent since ``since``."""
    return min(sum(a.acknowledged and a.started >= since for a in c.attempts) for c in clients)


def _kill_mid_write(site: Site) -> tuple[int, float]:
    """Hold the change-log head until the writers wait for it, then kill the server under
    them; returns how many were waiting, and when the kill began."""
    engine = engine_for(site.owner_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as holder, engine.connect() as watcher:
            holder.exec_driver_sql("BEGIN; SELECT FROM change_head FOR UPDATE")
            deadline = time.monotonic() + 10
            waiting = 0
            while waiting < CLIENTS and time.monotonic() < deadline:
                time.sleep(0.05)
                waiting = int(watcher.execute(WAITING).scalar_one())
            killed = time.monotonic()
            _pg_ctl(site.cluster, "stop", "-m", "immediate")
    finally:
        engine.dispose()
    return waiting, killed


def _refused_while_down(site: Site) -> None:
    """A write and the health check answer 503 at once while the server is dead."""
    with httpx.Client(base_url=site.server.base, timeout=ANSWER_S) as http:
        for method, path, body in (
            ("POST", "/api/projects", {**CREATED, "title": "죽은 서버", "budget": "1"}),
            ("PATCH", "/api/projects/SEOUL-2027-000001", {"description": "x"}),
            ("GET", "/api/health", None),
        ):
            began = time.monotonic()
            headers = {**site.auth, "If-Match": '"1-1"'}
            response = http.request(method, path, json=body, headers=headers)
            assert time.monotonic() - began < ANSWER_S / 2, (method, path)
            assert response.status_code == 503, (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["retry-after"] == "5"
            assert response.json()["status"] == 503


def _stored(engine: Engine) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The test's projects by code, and the change log in order, read afresh."""
    with engine.connect() as conn:
        broken = verify_stored(conn)
        assert broken is None, broken
        rows = conn.execute(
            text(
                "SELECT code, title, budget, category, project_type, status, "
                "agency_code AS agency, planned_start, planned_end, published, description, "
                "progress_actual FROM projects WHERE NOT code LIKE 'FIX-%'"
            )
        ).mappings()
        projects = {r["code"]: dict(r) for r in rows}
        log = [json.loads(c) for (c,) in conn.execute(text("SELECT content FROM changes "
                                                           "ORDER BY seq"))]  # fmt: skip
    return projects, log


def _same(stored: Any, given: Any) -> bool:
    if isinstance(stored, Decimal):
        return stored == Decimal(given)
    return str(stored) == str(given)


def _check_creates(attempts: list[Attempt], projects: dict[str, dict[str, Any]],
                   log: list[dict[str, Any]]) -> None:  # fmt: skip
    """Each project the burst made was an attempted create, stored with exactly its values and
    logged once; each acknowledged create is there; each other is there wholly or not at all."""
    creates = {a.values["title"]: a for a in attempts if a.kind == "create"}
    entries = {e["project"]: e for e in log if e["action"] == "create"}
    assert [e["project"] for e in log if e["action"] == "create"] == list(entries)  # once each
    by_title = {p["title"]: code for code, p in projects.items()}
    assert len(by_title) == len(projects), "one create stored twice"
    assert set(entries) == set(projects), "a project without its create entry, or the reverse"
    for code, project in projects.items():
        attempt = creates.get(project["title"])
        assert attempt is not None, f"{code} was never sent"
        assert project["published"]
        logged = entries[code]["fields"]
        for name in KEPT:
            assert _same(project[name], attempt.values[name]), (code, name)
            assert _same(logged[name][1], attempt.values[name]), (code, name)
    for title, attempt in creates.items():
        if attempt.acknowledged:
            assert by_title.get(title) == attempt.code, f"acknowledged create {title} is lost"


def _check_edits(attempts: list[Attempt], projects: dict[str, dict[str, Any]],
                 log: list[dict[str, Any]]) -> None:  # fmt: skip
    """Replaying each project's log gives what is stored; each logged edit was sent, in the
    order sent, and each acknowledged one is logged."""
    sent: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        if attempt.kind == "edit":
            sent.setdefault(str(attempt.code), []).append(attempt)
    for code, project in projects.items():
        state = {name: None for name in EDITED}
        logged = []
        for entry in (e for e in log if e["project"] == code):
            for name, (before, after) in entry["fields"].items():
                if name in EDITED:
                    assert entry["action"] == "create" or _same(before, state[name]), (code, name)
                    state[name] = after
            if entry["action"] == "edit":
                assert set(entry["fields"]) == set(EDITED), (code, entry)
                logged.append(entry["fields"]["description"][1])
        for name in EDITED:
            assert _same(project[name], state[name]), f"{code}.{name} differs from its log"
        tried = [a.values["description"] for a in sent.get(code, [])]
        position = iter(tried)
        assert all(d in position for d in logged), f"{code}: logged edits {logged} not of {tried}"
        for attempt in sent.get(code, []):
            if attempt.acknowledged:
                assert attempt.values["description"] in logged, f"acknowledged edit lost: {code}"


def test_a_killed_server_leaves_no_write_half_done(site: Site) -> None:
    began = time.monotonic()
    stop = threading.Event()
    clients = [Client(n, site, stop) for n in range(1, CLIENTS + 1)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    try:
        _until(lambda: _acks(clients, began) >= 3, 20, "the burst to start")
        waiting, killed = _kill_mid_write(site)
        dead = time.monotonic()
        _refused_while_down(site)
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - dead)))
        back = time.monotonic()
        provision.start_local(site.settings)
        restarted = time.monotonic()
        _until(lambda: _acks(clients, restarted) >= ACKS_AFTER_RESTART, 20, "writes to recover")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=ANSWER_S + 2)
    assert time.monotonic() - began < BURST_S
    assert waiting >= 2, "the kill did not land in the middle of writes"
    attempts = [a for c in clients for a in c.attempts]
    assert all(a.status in (200, 201, 503) for a in attempts), {a.status for a in attempts}
    assert max(a.seconds for a in attempts) < ANSWER_S
    cut = [a for a in attempts if a.started < killed and a.started + a.seconds > killed]
    assert sum(a.status == 503 for a in cut) >= 2, [a.body for a in cut]
    assert all(a.acknowledged for a in attempts if a.started > restarted), "no recovery"
    down = [a for a in attempts if dead < a.started and a.started + a.seconds < back]
    assert down and all(a.status == 503 for a in down), [a.body for a in down]

    engine = engine_for(site.owner_url)
    try:
        projects, log = _stored(engine)
    finally:
        engine.dispose()
    assert projects, "nothing was written"
    _check_creates(attempts, projects, log)
    _check_edits(attempts, projects, log)
    assert {e["action"] for e in log} <= {"create", "edit"}
    assert all(e["project"] in projects for e in log), "a log entry without its project"
