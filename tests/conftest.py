"""Fixtures: a real PostGIS (the embedded one, provisioned by Allimi's own code), a fresh test
database migrated to head, and the portal served over real HTTP on a free port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Connection, Engine

from api.app import create_app
from api.server import uvicorn_config
from geo.accounts import NewUser, add_user, issue_token
from geo.jurisdiction import SEOUL, City, init_city, read_city
from geo.settings import Settings
from geo.store import migrate
from geo.store.database import drop_database, engine_for, prepare, read_url, write_url
from tests import city, danang

TEST_DB = "allimi_test"
# Each test asks a process of its own what that process makes: bodies other tests' processes
# kept in the database (the shared body cache) would answer instead. test_caching turns it on.
os.environ.setdefault("ALLIMI_SHARED_CACHE_MB", "0")
VERSION_TTL = 0.2  # seconds the test server reuses the data version it read
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def db_url(settings: Settings) -> str:
    """A new test database migrated to head, holding the hand-made city of ``tests.city``."""
    return hand_made_city(settings, TEST_DB)


def hand_made_city(settings: Settings, name: str) -> str:
    """A new database ``name`` migrated to head, holding the hand-made city of ``tests.city``."""
    drop_database(prepare(settings, name))
    url = prepare(settings, name)
    migrate.upgrade(url)
    engine = engine_for(url)
    with engine.begin() as conn:
        city.build(conn)
    engine.dispose()
    return url


def city_database(settings: Settings, name: str, city: City) -> str:
    """A new database ``name`` migrated to head with ``city`` set up (no projects yet)."""
    drop_database(prepare(settings, name))
    url = prepare(settings, name)
    migrate.upgrade(url)
    engine = engine_for(url)
    with engine.begin() as conn:
        init_city(conn, city)
    engine.dispose()
    return url


def seoul_agencies(settings: Settings, name: str) -> Iterator[Engine]:
    """The Seoul test city with its agencies and no projects, as database ``name`` (for a
    fixture to yield from), dropped afterwards."""
    url = city_database(settings, name, read_city(SEOUL))
    engine = engine_for(url)
    with engine.begin() as conn:
        city.insert_agencies(conn, city.AGENCIES, ("ko", "en"))
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = engine_for(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def scratch_db(settings: Settings) -> Iterator[str]:
    """A throwaway empty database with PostGIS, for tests that migrate or load from scratch."""
    url = prepare(settings, f"{TEST_DB}_scratch")
    drop_database(url)
    url = prepare(settings, f"{TEST_DB}_scratch")
    yield url
    drop_database(url)


@dataclass
class Server:
    base: str
    http: httpx.Client


def nowhere() -> str:
    """The URL of a database server that does not exist (nothing listens on its port)."""
    return f"postgresql://nobody:secret@127.0.0.1:{free_port()}/nowhere"


def portal(settings: Settings) -> FastAPI:
    """The app reading with the login the ``allimi`` command would give it for ``settings``."""
    return create_app(settings, read_url(settings), write_url(settings))


def serve(settings: Settings, app: FastAPI | None = None) -> Iterator[Server]:
    """Run the app (``portal(settings)`` unless given) under uvicorn in a thread on a free
    port; real HTTP, real database."""
    port = free_port()
    config = uvicorn_config(app or portal(settings), settings, "127.0.0.1", port, "warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as http:
        yield Server(base, http)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(db_url: str) -> Iterator[Server]:
    """The portal on the session's test database. The whole suite is one client sending
    thousands of requests a minute, so its request rate is not limited here (the limits have
    tests of their own, in test_limits)."""
    yield from serve(
        Settings(
            database_url=db_url,
            version_ttl=VERSION_TTL,
            rate_per_s=10_000,
            rate_burst=10_000,
            signin_failures_per_address=10_000,  # Schemathesis signs in wrongly on purpose
        )
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright, one per test module (a module may start its own
    Playwright, which cannot run beside another in the same thread)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does).")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def danang_db(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding the second city of ``tests.danang``, set up from its files."""
    config = danang.write_files(tmp_path_factory.mktemp("danang"))
    url = city_database(settings, f"{TEST_DB}_danang", read_city(config))
    engine = engine_for(url)
    with engine.begin() as conn:
        danang.build(conn)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def danang_server(danang_db: str) -> Iterator[Server]:
    """The portal serving the second city."""
    yield from serve(
        Settings(
            database_url=danang_db, version_ttl=VERSION_TTL, rate_per_s=10_000, rate_burst=10_000
        )
    )


PASSWORD = "a long enough password"
PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int) -> list[str]:
    """The parameters an RFC 9457 problem names, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return [e["parameter"] for e in response.json().get("errors", [])]


# Officials of two agencies and an admin: who writes in the writing tests
WRITERS = [("roads", "official", "TEST-ROADS"), ("water", "official", "TEST-WATER"),
           ("admin", "admin")]  # fmt: skip


def signed_in(conn: Connection, people: Iterable[tuple[str, ...]]) -> dict[str, tuple[int, str]]:
    """An account for each (who, role[, agency[, contractor]]), e-mail ``who@allimi.test`` and
    password ``PASSWORD``, each with a live session token: who -> (account id, token)."""
    found = {}
    for who, role, *rest in people:
        agency, contractor = (*rest, None, None)[:2]
        number = add_user(
            conn, NewUser(f"{who}@allimi.test", who, role, PASSWORD, agency, contractor)
        )
        found[who] = (number, issue_token(conn, number, "session", None, 3600)[0])
    return found
