"""Fair shares per client: request rate, database time, statements at once, header bounds.

Clients are told apart by address: all of 127.0.0.0/8 is loopback on Linux, so each test
client binds its own source address and the server sees distinct ``request.client.host``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, text

from api.limits import MAX_HEADER_BYTES, MAX_HEADERS, Clients
from geo.settings import Settings
from tests.conftest import VERSION_TTL, Server, serve

HEAVY, MAP = "127.0.0.2", "127.0.0.3"
CLICK = {"lon": 127.0005, "lat": 37.5}
PROBLEM = "application/problem+json"


@contextmanager
def client_at(server: Server, address: str) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.base, transport=transport, timeout=30) as http:
        yield http


@contextmanager
def serving(db_url: str, **limits: float) -> Iterator[Server]:
    yield from serve(Settings(database_url=db_url, version_ttl=VERSION_TTL, **limits))


def assert_too_many(response: httpx.Response, detail: str, path: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    assert response.json() == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": detail.format(wait=wait),
        "instance": path,
    }


def test_a_client_past_its_request_rate_gets_429_while_another_is_served(db_url: str) -> None:
    with (
        serving(db_url, rate_per_s=0.5, rate_burst=3) as server,
        client_at(server, HEAVY) as heavy,
        client_at(server, MAP) as map_client,
    ):
        assert [heavy.get("/api/layers").status_code for _ in range(3)] == [200] * 3
        over = heavy.get("/api/layers", headers={"Origin": "https://another.example"})
        served = map_client.get("/api/projects/at", params=CLICK)
        static = heavy.get("/static/app.css")
    assert over.headers["retry-after"] == "2"  # one token at 0.5 a second
    assert_too_many(over, "This client sends requests too fast; retry in {wait} s.", "/api/layers")
    # another site's page may read why it must wait, and the answer is as guarded as any
    assert over.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in over.headers["access-control-expose-headers"].lower()
    assert over.headers["x-content-type-options"] == "nosniff"
    assert served.status_code == 200
    assert served.json()["features"][0]["properties"]["code"] == "FIX-ROAD-1"
    assert static.status_code == 200  # the browser's own files are not counted


def test_a_client_past_its_database_share_gets_429_for_new_work_only(db_url: str) -> None:
    limits = {"client_db_share": 0.01, "client_db_burst": 0.1, "client_db_free_ms": 0}
    limits |= {"cache_min_ms": 0}  # every answer is kept
    limits |= {"rate_per_s": 1000, "rate_burst": 1000}  # the database share binds first
    with (
        serving(db_url, **limits) as server,
        client_at(server, HEAVY) as heavy,
        client_at(server, MAP) as map_client,
    ):
        first = heavy.get("/api/projects", params={"limit": 1000, "offset": 0})
        assert first.status_code == 200
        statuses = []
        for offset in range(1, 400):  # every page is new work for the database
            response = heavy.get("/api/projects", params={"limit": 1000, "offset": offset})
            statuses.append(response.status_code)
            if response.status_code != 200:
                break
        kept = heavy.get("/api/projects", params={"limit": 1000, "offset": 0})
        served = map_client.get("/api/projects/at", params=CLICK)
    assert set(statuses[:-1]) == {200} and len(statuses) < 399, statuses
    assert_too_many(
        response,
        "This client has used its share of database time; retry in {wait} s "
        "(answers already made are still served).",
        "/api/projects",
    )
    assert kept.status_code == 200 and kept.content == first.content  # from memory
    assert served.status_code == 200
    assert served.json()["features"][0]["properties"]["code"] == "FIX-ROAD-1"


def _waiting_on_lock(engine: Engine) -> int:
    sql = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = 'allimi-api' AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        return int(conn.execute(sql).scalar_one())


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _blocked(
    server: Server, engine: Engine, requests: list[tuple[str, int]], before: int = 0
) -> tuple[int, list[int]]:
    """Send ``requests`` (client address, page offset) at once while the projects table is
    locked: how many statements reached PostgreSQL (and wait there), and every status after."""
    statuses: list[int] = []

    def fetch(address: str, offset: int) -> None:
        with client_at(server, address) as http:
            statuses.append(http.get("/api/projects", params={"offset": offset}).status_code)

    threads = [threading.Thread(target=fetch, args=request) for request in requests]
    with engine.connect() as locker:
        locker.execute(text("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE"))
        for thread in threads:
            thread.start()
        _until(lambda: _waiting_on_lock(engine) >= before)
        time.sleep(0.5)  # time for any further statement to arrive
        waiting = _waiting_on_lock(engine)
        locker.rollback()
    for thread in threads:
        thread.join(timeout=30)
    return waiting, statuses


def test_one_client_runs_at_most_its_statements_at_once(db_url: str, engine: Engine) -> None:
    """The heavy client's four requests hold two connections; the map client gets its own."""
    with serving(db_url, concurrency=6, client_statements=2) as server:
        requests = [(HEAVY, n) for n in range(4)] + [(MAP, 100)]
        waiting, statuses = _blocked(server, engine, requests, before=3)
    assert waiting == 3
    assert statuses == [200] * 5


def test_clients_past_half_their_burst_share_one_lane(db_url: str, engine: Engine) -> None:
    """Two clients that have used most of their database burst run one statement at a time
    between them; the map client, which has not, runs beside them."""
    other = "127.0.0.4"
    limits = {"client_db_share": 0.001, "client_db_burst": 0.8, "client_db_free_ms": 0}
    with serving(db_url, concurrency=6, **limits) as server:
        # Each spends about 0.55 s of its 0.8 s burst waiting on the lock: past half of it.
        assert _blocked(server, engine, [(HEAVY, 1), (other, 2)], before=2) == (2, [200, 200])
        requests = [(HEAVY, 3), (HEAVY, 4), (other, 5), (MAP, 6)]
        waiting, statuses = _blocked(server, engine, requests, before=2)
    assert waiting == 2
    assert statuses == [200] * 4


def _raw_get(server: Server, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    """A GET with exactly ``headers`` (no client adds any), answered status and body."""
    address = urlsplit(server.base)
    lines = ["GET /api/layers HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _headers(count: int, size: int) -> list[tuple[str, str]]:
    """``count`` headers (Host and Connection among them) of ``size`` bytes, names and values."""
    headers = [("Host", "allimi"), ("Connection", "close")]
    headers += [(f"X-Extra-{n:03d}", "v") for n in range(count - len(headers))]
    used = sum(len(n) + len(v) for n, v in headers)
    name, value = headers[-1]
    headers[-1] = (name, value + "v" * (size - used))
    return headers


@pytest.mark.parametrize(
    ("count", "size", "reason"),
    [
        (MAX_HEADERS + 1, 2000, f"{MAX_HEADERS + 1} headers were sent; at most 100 are accepted."),
        (
            3,
            MAX_HEADER_BYTES + 1,
            f"{MAX_HEADER_BYTES + 1} bytes of headers were sent; at most 32768 are.",
        ),
    ],
)
def test_too_many_or_too_large_headers_are_431(
    server: Server, count: int, size: int, reason: str
) -> None:
    assert _raw_get(server, _headers(count - 1, size - 1))[0] == 200  # just within both bounds
    status, body = _raw_get(server, _headers(count, size))
    assert status == 431
    assert httpx.Response(431, content=body).json() == {
        "type": "about:blank",
        "title": "Request Header Fields Too Large",
        "status": 431,
        "detail": reason,
        "instance": "/api/layers",
        "errors": [{"parameter": "headers", "reason": reason}],
    }


def test_the_table_of_clients_forgets_idle_and_least_recent_ones() -> None:
    settings = Settings(rate_per_s=1, rate_burst=2, client_db_share=1, client_db_burst=1)
    clients = Clients(settings, kept=3)
    first = clients.get("10.0.0.1", now=0.0)
    first.requests.spend(2, now=0.0)  # full again at t = 2
    for n in (2, 3, 4):
        clients.get(f"10.0.0.{n}", now=0.5).requests.spend(1, now=0.5)  # full again at 1.5
    second = clients.get("10.0.0.2", now=0.5)
    assert len(clients) == 3  # 10.0.0.1, the least recently seen, made room though not idle
    assert clients.get("10.0.0.2", now=1.0) is second  # not idle yet: kept, and now the latest
    clients.get("10.0.0.9", now=10.0)  # every other client is idle by now: forgotten
    assert len(clients) == 1
    assert clients.get("10.0.0.1", now=10.0) is not first
