"""The API's connections to PostGIS: bounded in number, replaced when the server drops them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Annotated

import httpx
import psycopg2.errors
import pytest
from fastapi import Depends
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api import prepared
from api.database import Database, database, libpq_dsn
from geo.settings import Settings
from geo.sql import Query
from tests.city import ROAD
from tests.conftest import portal, serve
from tests.tcp_proxy import TcpProxy, tcp_proxy

PROJECT = f"/api/projects/{ROAD.code}"
BACKEND = Query("SELECT pg_backend_pid()")
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


def test_a_statement_that_runs_too_long_answers_503(db_url) -> None:
    for running in serve(Settings(database_url=db_url, statement_timeout_ms=1)):
        response = running.http.get("/api/districts")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "The database did not answer; try again shortly."


def test_errors_the_server_answers_leave_the_connection_in_the_pool(db_url) -> None:
    async def errors_then_backend() -> tuple[int, int, int]:
        db = Database(libpq_dsn(db_url), 1, statement_timeout_ms=200, pool_wait_s=1)
        try:
            first = await db.scalar(BACKEND)
            with pytest.raises(psycopg2.errors.DataError):
                await db.rows(Query("SELECT 1/0"))
            after_data_error = await db.scalar(BACKEND)
            with pytest.raises(psycopg2.errors.QueryCanceled):
                await db.rows(Query("SELECT pg_sleep(2)"))
            return first, after_data_error, await db.scalar(BACKEND)
        finally:
            db.close()

    first, after_data_error, after_cancel = asyncio.run(errors_then_backend())
    assert after_data_error == first
    assert after_cancel == first


def test_a_data_error_answers_400_naming_the_request(db_url) -> None:
    settings = Settings(database_url=db_url)
    app = portal(settings)

    @app.get("/divide-by-zero")
    async def divide_by_zero(db: Annotated[Database, Depends(database)]) -> list[tuple[int]]:
        return await db.rows(Query("SELECT 1/0"))

    for running in serve(settings, app):
        response = running.http.get("/divide-by-zero")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    reason = "A value in this request is out of the range the database can handle."
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": reason,
        "instance": "/divide-by-zero",
        "errors": [{"parameter": "request", "reason": reason}],
    }


@pytest.fixture
def proxy(db_url) -> Iterator[TcpProxy]:
    """A relay between the API and the test database, to cut silently."""
    url = make_url(db_url)
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as relay:
        yield relay


def _through(proxy: TcpProxy, db_url: str) -> str:
    return make_url(db_url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def _timed(base: str, path: str) -> tuple[httpx.Response, float]:
    with httpx.Client(base_url=base, timeout=30) as client:
        began = time.monotonic()
        response = client.get(path)
        return response, time.monotonic() - began


def _unavailable(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == detail


def test_a_database_that_stops_answering_is_answered_503_in_time(db_url, proxy) -> None:
    url = make_url(db_url)
    settings = Settings(
        database_url=_through(proxy, db_url),
        statement_timeout_ms=1500,
        cache_mb=0,
        version_ttl=0,
    )
    for running in serve(settings):
        assert running.http.get(PROJECT).status_code == 200  # a warm connection in the pool
        assert running.http.get("/api/health").status_code == 200
        # the document is made once per process (a fraction of a second): made before
        assert running.http.get("/openapi.json").status_code == 200
        proxy.swallow()
        with ThreadPoolExecutor(2) as clients:
            waiting = [clients.submit(_timed, running.base, PROJECT) for _ in range(2)]
            time.sleep(0.3)
            layers_meanwhile, layers_meanwhile_s = _timed(running.base, "/openapi.json")
            health, health_s = _timed(running.base, "/api/health")
            answers = [future.result() for future in waiting]
        # the statements left behind are being cancelled now, against the silent server
        layers_after, layers_after_s = _timed(running.base, "/openapi.json")
        proxy.pass_traffic()
        back = running.http.get(PROJECT)
        health_back = running.http.get("/api/health")

    for response, seconds in answers:
        _unavailable(response, "The database did not answer; try again shortly.")
        assert 1.5 < seconds < 4
    assert layers_meanwhile.status_code == 200
    assert layers_meanwhile_s < 0.5
    assert layers_after.status_code == 200
    assert layers_after_s < 0.5
    _unavailable(health, "The database is unreachable.")
    assert health_s < 1
    assert url.username not in health.text
    assert url.database not in health.text
    assert str(proxy.port) not in health.text
    assert back.status_code == 200
    assert health_back.status_code == 200


def test_a_request_waits_for_a_free_connection_at_most_pool_wait_s(db_url, proxy) -> None:
    settings = Settings(
        database_url=_through(proxy, db_url),
        concurrency=1,
        pool_wait_s=0.5,
        statement_timeout_ms=3000,
        cache_mb=0,
        version_ttl=0,
    )
    for running in serve(settings):
        assert running.http.get(PROJECT).status_code == 200
        proxy.swallow()
        with ThreadPoolExecutor(1) as clients:
            holding = clients.submit(_timed, running.base, PROJECT)  # takes the one slot
            time.sleep(0.3)
            waited, waited_s = _timed(running.base, PROJECT)
            held, _ = holding.result()
    _unavailable(waited, "Every database connection is busy; try again shortly.")
    assert 0.5 <= waited_s < 2
    _unavailable(held, "The database did not answer; try again shortly.")


def test_a_server_named_by_host_name_is_reached(db_url) -> None:
    """The name is looked up in a worker thread and its addresses handed to libpq."""
    named = make_url(db_url).set(host="localhost").render_as_string(False)
    for running in serve(Settings(database_url=named)):
        response = running.http.get(PROJECT)
    assert response.status_code == 200
    assert response.json()["id"] == PROJECT.rsplit("/", 1)[1]


PREPARED = Query("SELECT name, statement FROM pg_prepared_statements ORDER BY prepare_time")


def test_a_repeated_read_is_prepared_and_answers_as_before(db_url, monkeypatch) -> None:
    """A text seen ``REPEATS`` times is prepared on the connection; its answers stay those of
    the text sent as it is; a text PostgreSQL cannot prepare is still answered; a connection
    keeps at most ``KEPT`` statements."""
    monkeypatch.setattr(prepared, "KEPT", 2)
    tile = Query(
        "SELECT ST_AsText(ST_TileEnvelope(%(z)s, %(x)s, %(y)s)), %(label)s::text || '%%'",
        {"z": 12, "x": 3493, "y": 1586, "label": "a"},
    )
    untyped = Query("SELECT %(value)s", {"value": "as it is"})

    async def scenario() -> tuple[list, list, list, list]:
        db = Database(libpq_dsn(db_url), 1, statement_timeout_ms=2000, pool_wait_s=1)
        try:
            answers = [await db.rows(tile) for _ in range(prepared.REPEATS + 2)]
            kept = await db.rows(PREPARED)
            odd = [await db.rows(untyped) for _ in range(prepared.REPEATS + 2)]
            for n in range(3):
                for _ in range(prepared.REPEATS):
                    await db.rows(Query(f"SELECT {n} + %(one)s", {"one": 1}))
            return answers, kept, odd, await db.rows(PREPARED)
        finally:
            db.close()

    answers, kept, odd, finally_kept = asyncio.run(scenario())
    assert all(a == answers[0] for a in answers)
    assert answers[0][0][1] == "a%"
    assert [s for _, s in kept if "ST_TileEnvelope($1, $2, $3)" in s]
    assert odd == [[("as it is",)]] * (prepared.REPEATS + 2)
    assert len(finally_kept) == 2  # the oldest went
    assert all("+ $1" in s for _, s in finally_kept)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.6, 2), (2**40, 0), (-(2**31), 3), (2**70, 0), (Decimal("2.5"), 1)],
)
def test_a_prepared_read_answers_as_its_text_for_values_its_column_cannot_hold(
    db_url, value, expected
) -> None:
    """A value keeps its own type in a prepared statement: not rounded or refused as the
    ``integer`` it is compared with."""
    query = Query(
        "SELECT count(*) FROM generate_series(1, 3) g(i) WHERE i::integer >= %(v)s"
        " AND i::integer <> %(v)s",
        {"v": value},
    )

    async def scenario() -> tuple[list, list]:
        db = Database(libpq_dsn(db_url), 1, statement_timeout_ms=2000, pool_wait_s=1)
        try:
            counts = [await db.scalar(query) for _ in range(prepared.REPEATS + 2)]
            return counts, await db.rows(PREPARED)
        finally:
            db.close()

    counts, kept = asyncio.run(scenario())
    assert counts == [expected] * (prepared.REPEATS + 2)
    assert [s for _, s in kept if "i::integer >= $1" in s]
