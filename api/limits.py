"""Fair shares per client, so that a few clients sending expensive requests cannot starve the map.

A client is its address (``request.client.host``: the peer, or the X-Forwarded-For entry of a
trusted proxy, see ``api.server``). Each has, in this process:

* a request rate (``ALLIMI_RATE_PER_S``, bursts of ``ALLIMI_RATE_BURST``): past it, 429;
* a share of database time (``ALLIMI_CLIENT_DB_SHARE`` seconds per second, bursts of
  ``ALLIMI_CLIENT_DB_BURST`` seconds): each statement run for the client's requests is charged
  the time it held a connection beyond ``ALLIMI_CLIENT_DB_FREE_MS`` (quick statements, the
  click query among them, are bounded by the request rate instead). A client that has spent
  half its burst runs its statements one at a time with all other such clients
  (``HEAVY_AT_ONCE``), and one in debt gets 429 for work the body cache does not answer,
  while cached answers still serve it;
* at most ``ALLIMI_CLIENT_STATEMENTS`` statements at once: more wait their turn, leaving the
  rest of the pool to other clients.

Requests with too many headers or too many header bytes are answered 431 before anything else.
The limits are per process: N processes behind a balancer allow a client up to N times as much.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import RETRY_AFTER, Problem, problem_response
from geo.settings import Settings

# Apache's LimitRequestFields default: browsers and proxies send a few dozen at most.
MAX_HEADERS = 100
# nginx's large_client_header_buffers default (4 x 8 KB): what a proxy in front lets through.
MAX_HEADER_BYTES = 32 * 1024
# Clients remembered per process (a few hundred bytes each); the least recently seen go first.
CLIENTS_KEPT = 10_000
# Statements at once, in a process, of all clients that have spent half their database burst:
# long statements (PostGIS runs them on several cores) cannot crowd out everyone else's.
HEAVY_AT_ONCE = 1
# Files the browser loads once and caches: not counted against the request rate.
UNCOUNTED_PREFIXES = ("/static/", "/vendor/")

P = ParamSpec("P")
T = TypeVar("T")


class TokenBucket:
    """``rate`` tokens a second up to ``burst``. Spending may run into debt, repaid first."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def tokens(self, now: float) -> float:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def spend(self, amount: float, now: float) -> None:
        self._tokens = self.tokens(now) - amount

    def wait(self, needed: float, now: float) -> int:
        """Whole seconds until the bucket holds ``needed`` tokens; 0 when it does now."""
        missing = needed - self.tokens(now)
        return 0 if missing <= 0 else max(1, math.ceil(missing / self.rate))

    def full_at(self) -> float:
        return self._at + (self.burst - self._tokens) / self.rate


class Client:
    """What one client address may still do in this process."""

    def __init__(self, settings: Settings, heavy: asyncio.Semaphore, now: float) -> None:
        self.requests = TokenBucket(settings.rate_per_s, settings.rate_burst, now)
        self.db = TokenBucket(settings.client_db_share, settings.client_db_burst, now)
        self.free_s = settings.client_db_free_ms / 1000
        self.statements = asyncio.Semaphore(settings.client_statements)
        self.heavy = heavy  # shared by every client
        self.busy = 0  # statements running or waiting for this client

    def lane(self, now: float) -> asyncio.Semaphore | None:
        """The heavy clients' lane once this client has spent half its burst, else none."""
        return self.heavy if self.db.tokens(now) < self.db.burst / 2 else None

    def idle(self, now: float) -> bool:
        """Nothing running and both buckets full again: as good as forgotten."""
        return not self.busy and now >= max(self.requests.full_at(), self.db.full_at())


class Clients:
    """The clients seen lately, least recently seen first; idle ones are dropped as they age,
    and the least recently seen once ``kept`` are held, so the table stays bounded."""

    def __init__(self, settings: Settings, kept: int = CLIENTS_KEPT) -> None:
        self.settings = settings
        self.kept = kept
        self._clients: OrderedDict[str, Client] = OrderedDict()
        self._heavy = asyncio.Semaphore(HEAVY_AT_ONCE)

    def __len__(self) -> int:
        return len(self._clients)

    def get(self, address: str, now: float) -> Client:
        client = self._clients.get(address)
        if client is None:
            while self._clients and (
                len(self._clients) >= self.kept or next(iter(self._clients.values())).idle(now)
            ):
                self._clients.popitem(last=False)
            client = self._clients[address] = Client(self.settings, self._heavy, now)
        else:
            self._clients.move_to_end(address)
        return client


_CLIENT: ContextVar[Client | None] = ContextVar("allimi_client", default=None)


async def within_budget(make: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """``make(*args, **kwargs)``, unless the requesting client has spent its database share:
    then a 429 problem saying when to come back. For work the body cache did not answer."""
    client = _CLIENT.get()
    if client is not None:
        wait = client.db.wait(0, time.monotonic())
        if wait:
            raise Problem(
                429,
                f"This client has used its share of database time; retry in {wait} s "
                "(answers already made are still served).",
                headers={"Retry-After": str(wait)},
            )
    return await make(*args, **kwargs)


class Held:
    """A statement's hold on a connection. A cursor read in chunks waits for its reader between
    them (``reader_has_it``): that time is not the database's, and is not charged."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.waited = 0.0

    @contextmanager
    def reader_has_it(self) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.waited += time.monotonic() - began


def _charge(client: Client | None, held: Held) -> None:
    if client is not None:
        now = time.monotonic()
        client.db.spend(max(0.0, now - held.began - held.waited - client.free_s), now)


@asynccontextmanager
async def statement(
    pool: asyncio.Semaphore, wait_s: float, *, shared: bool = True
) -> AsyncIterator[Held]:
    """A slot of ``pool`` for one statement, within the requesting client's own at-once limit
    (and the heavy lane's), waited for at most ``wait_s`` in all: then a 503 problem. The client
    is charged the time the statement holds the slot. A write (``shared=False``) waits for
    ``pool`` only: it is a signed-in account's, and an agency's officials may share an
    address."""
    client = _CLIENT.get() if shared else None
    gates: list[asyncio.Semaphore] = [pool]
    if client is not None:
        lane = client.lane(time.monotonic())
        gates = [client.statements, *([lane] if lane else []), pool]
        client.busy += 1
    try:
        async with AsyncExitStack() as held:
            try:
                async with asyncio.timeout(wait_s):
                    for gate in gates:
                        await held.enter_async_context(gate)
            except TimeoutError:
                raise Problem(
                    503,
                    "Every database connection is busy; try again shortly.",
                    headers=RETRY_AFTER,
                ) from None
            hold = Held()
            try:
                yield hold
            except Exception as exc:
                # the server answered an error (it has a SQLSTATE): it did the work, charge it;
                # a database that never answered did none, and the client is not to blame
                if getattr(exc, "pgcode", None):
                    _charge(client, hold)
                raise
            _charge(client, hold)
    finally:
        if client is not None:
            client.busy -= 1


class ClientLimits:
    """ASGI middleware: the request rate per client, and the client every statement is for."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.clients = Clients(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCOUNTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        address = scope["client"][0] if scope.get("client") else ""
        client = self.clients.get(address, now)
        wait = client.requests.wait(1, now)
        if wait:
            detail = f"This client sends requests too fast; retry in {wait} s."
            response = problem_response(
                429, detail, instance=scope["path"], headers={"Retry-After": str(wait)}
            )
            await response(scope, receive, send)
            return
        client.requests.spend(1, now)
        token = _CLIENT.set(client)
        try:
            await self.app(scope, receive, send)
        finally:
            _CLIENT.reset(token)


class HeaderLimits:
    """ASGI middleware: 431 for more than ``MAX_HEADERS`` headers or ``MAX_HEADER_BYTES`` of
    them. uvicorn's httptools parser sets no limit of its own; a proxy in front bounds what
    reaches the process's memory, this bounds what the application works on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) for name, value in headers)
            reason = None
            if len(headers) > MAX_HEADERS:
                reason = f"{len(headers)} headers were sent; at most {MAX_HEADERS} are accepted."
            elif size > MAX_HEADER_BYTES:
                reason = f"{size} bytes of headers were sent; at most {MAX_HEADER_BYTES} are."
            if reason:
                response = problem_response(
                    431,
                    reason,
                    instance=scope["path"],
                    errors=[{"parameter": "headers", "reason": reason}],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
