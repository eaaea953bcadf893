"""The API's connections to PostGIS: bounded in number, replaced when the server drops them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from api import database
from geo.settings import Settings
from tests.city import ROAD
from tests.conftest import serve

API_SESSIONS = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE application_name = 'allimi-api' AND datname = current_database()"
)


def _statuses(base: str, path: str, requests: int, clients: int) -> list[int]:
    """Statuses of ``requests`` GETs of ``path`` sent by ``clients`` threads at once."""

    def fetch(i: int) -> int:
        with httpx.Client(base_url=base, timeout=30) as client:
            return client.get(path).status_code

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(fetch, range(requests)))


def _connections(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(API_SESSIONS).scalar_one())


def test_a_process_opens_at_most_concurrency_connections(db_url, engine) -> None:
    before = _connections(engine)
    for running in serve(Settings(database_url=db_url, concurrency=2)):
        statuses = _statuses(running.base, f"/api/projects/{ROAD.code}", 48, 12)
        opened = _connections(engine) - before
    assert statuses == [200] * 48
    assert 1 <= opened <= 2


def test_connections_the_server_drops_are_replaced_unnoticed(db_url, engine) -> None:
    with engine.connect() as conn:
        others = [pid for (pid,) in conn.execute(text("SELECT pid FROM pg_stat_activity"))]
    for running in serve(Settings(database_url=db_url, concurrency=3)):
        assert _statuses(running.base, "/api/config", 9, 3) == [200] * 9  # fills the pool
        with engine.connect() as conn:
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'allimi-api' AND datname = current_database() "
                    "AND pid <> ALL(:others)"
                ),
                {"others": others},
            ).scalar_one()
        statuses = [running.http.get("/api/config").status_code for _ in range(6)]
    assert dropped >= 1
    assert statuses == [200] * 6


def test_a_statement_that_runs_too_long_answers_503(db_url, monkeypatch) -> None:
    monkeypatch.setattr(database, "STATEMENT_TIMEOUT_MS", 1)
    for running in serve(Settings(database_url=db_url)):
        response = running.http.get("/api/districts")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
