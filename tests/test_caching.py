"""Responses kept per data version: served again until a write, made once when asked at once."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Connection, text

from api.caching import BodyCache
from geo import body_cache
from geo.settings import Settings
from tests.city import ROAD
from tests.conftest import VERSION_TTL, serve

BUMP = "projects_bump_data_version"


def _add_to_road_budget(conn: Connection, amount: int) -> None:
    conn.execute(
        text("UPDATE projects SET budget = budget + :amount WHERE code = :code"),
        {"amount": amount, "code": ROAD.code},
    )


def _total_budget(totals: list[dict]) -> float:
    return sum(d["budget"] for d in totals)


def test_kept_bodies_last_until_the_data_changes(db_url, engine) -> None:
    settings = Settings(database_url=db_url, version_ttl=VERSION_TTL, cache_min_ms=0)
    for running in serve(settings):
        first = running.http.get("/api/districts").json()
        try:
            with engine.begin() as conn:  # a change that leaves the data version alone
                conn.execute(text(f"ALTER TABLE projects DISABLE TRIGGER {BUMP}"))
                _add_to_road_budget(conn, 1000)
                conn.execute(text(f"ALTER TABLE projects ENABLE TRIGGER {BUMP}"))
            kept = running.http.get("/api/districts").json()
            with engine.begin() as conn:  # any write through the table bumps the version
                _add_to_road_budget(conn, 0)
            time.sleep(VERSION_TTL * 2)
            after = running.http.get("/api/districts").json()
        finally:
            with engine.begin() as conn:
                _add_to_road_budget(conn, -1000)
    assert kept == first  # served from memory
    assert _total_budget(after) == _total_budget(first) + 1000  # made again from new data


def test_concurrent_requests_for_one_body_make_it_once() -> None:
    made = []

    async def make() -> str:
        made.append(1)
        await asyncio.sleep(0.05)
        return "body"

    async def scenario() -> list[str | bytes]:
        cache = BodyCache(max_bytes=1 << 20, min_seconds=0.0)
        bodies = await asyncio.gather(*(cache.body(1, "k", make) for _ in range(10)))
        bodies.append(await cache.body(1, "k", make))  # kept
        bodies.append(await cache.body(2, "k", make))  # a new day: made again
        return bodies

    assert asyncio.run(scenario()) == ["body"] * 12
    assert len(made) == 2


def test_bodies_of_older_versions_stay_until_they_age_out() -> None:
    made: list[str] = []

    def maker(key: str):
        async def make() -> str:
            made.append(key)
            return key

        return make

    async def scenario() -> None:
        cache = BodyCache(max_bytes=1 << 20, min_seconds=0.0)
        await cache.body("today", "far tile at version 1", maker("far"))
        await cache.body("today", "near tile at version 1", maker("near"))
        await cache.body("today", "near tile at version 2", maker("near again"))  # a write
        await cache.body("today", "far tile at version 1", maker("far"))  # still kept

    asyncio.run(scenario())
    assert made == ["far", "near", "near again"]


def test_quick_bodies_are_not_kept() -> None:
    made = []

    async def make() -> str:
        made.append(1)
        return "body"

    async def scenario() -> None:
        cache = BodyCache(max_bytes=1 << 20, min_seconds=0.5)
        for _ in range(3):
            await cache.body(1, "k", make)

    asyncio.run(scenario())
    assert len(made) == 3


def test_the_cache_keeps_within_its_budget_least_recently_used_out() -> None:
    calls: list[str] = []

    def maker(key: str, size: int = 200):
        async def make() -> bytes:
            calls.append(key)
            return b"x" * size

        return make

    async def scenario() -> None:
        cache = BodyCache(max_bytes=800, min_seconds=0.0)
        for key in ("a", "b", "c", "a", "d", "a", "b", "e", "a", "b", "e", "c"):
            await cache.body(0, key, maker(key))  # room for four
        for _ in range(2):  # over a quarter of the budget: never kept
            await cache.body(0, "big", maker("big", 201))

    asyncio.run(scenario())
    # c, least recently used, made way for e, and is made again
    assert calls == ["a", "b", "c", "d", "e", "c", "big", "big"]


def test_a_body_one_process_kept_in_the_database_another_serves(db_url, engine) -> None:
    settings = Settings(
        database_url=db_url, version_ttl=VERSION_TTL, cache_min_ms=0, shared_cache_mb=16
    )
    try:
        for one in serve(settings):
            made = one.http.get("/api/districts")
        tag = made.headers["etag"]
        with engine.begin() as conn:
            kept = conn.execute(
                text("SELECT body FROM body_cache WHERE key = :k"), {"k": f" {tag}"}
            ).scalar_one()
            assert bytes(kept) == made.content
            conn.execute(  # what a process finds there, it serves: a sentinel shows it
                text("UPDATE body_cache SET body = :b WHERE key = :k"),
                {"b": b'[{"kept": true}]', "k": f" {tag}"},
            )
        for other in serve(settings):  # a new process: nothing of its own kept yet
            served = other.http.get("/api/districts")
        alone = Settings(database_url=db_url, version_ttl=VERSION_TTL, shared_cache_mb=0)
        for unshared_process in serve(alone):
            unshared = unshared_process.http.get("/api/districts")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM body_cache"))
    assert (served.headers["etag"], served.json()) == (tag, [{"kept": True}])
    assert unshared.content == made.content  # turned off: made again


def test_pruning_drops_earlier_days_and_the_oldest_when_over_size(engine) -> None:
    rows = [(f"k{i}", b"x" * 2000, f"now() - interval '{i} minutes'") for i in range(40)]
    with engine.begin() as conn:
        for key, body, at in rows:
            conn.execute(
                text(f"INSERT INTO body_cache VALUES (:k, :b, {at})"), {"k": key, "b": body}
            )
        conn.execute(text("INSERT INTO body_cache VALUES ('old', '', current_date - 1)"))
    try:
        with engine.begin() as conn:
            query = body_cache.prune(max_bytes=10**9)
            assert conn.exec_driver_sql(query.sql, query.params).scalar_one() == 1
            query = body_cache.prune(max_bytes=0)
            assert conn.exec_driver_sql(query.sql, query.params).scalar_one() == 10
            left = set(conn.execute(text("SELECT key FROM body_cache")).scalars())
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM body_cache"))
    assert left == {f"k{i}" for i in range(30)}  # the ten oldest went
