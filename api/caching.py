"""Caching keyed by data versions: ETag, Cache-Control, 304 Not Modified, and slow bodies.

Every write bumps ``data_version`` (a trigger), and records the map tiles its old and new
geometry touch with that version (``area_versions``). A response about a place (a tile, a view
of a bbox) is tagged with the version of its area (``api.areas``), any other with the data
version, so a tag stays valid exactly as long as the data it describes, and a write leaves the
tags of the rest of the city alone. Any number of API processes agree on them. Each process
reads both at most once per ``ALLIMI_VERSION_TTL`` seconds, in one statement, so a request
costs one round trip to the database, not two.

The same tag keys ``BodyCache``: a response that took long to make (a city-wide view, a
low-zoom tile, the district totals) is made once per version of its area and process, however
many citizens ask for it at once, and served from memory until its area changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import date

import psycopg2
from fastapi import Request, Response

from api.areas import Area, Pyramid
from api.database import Database, database
from api.limits import within_budget
from api.problems import Problem
from geo import body_cache
from geo.versions import area_versions

CACHE_CONTROL = "public, max-age=15, must-revalidate"


class Versions:
    """The data version and the area versions (``Pyramid``), re-read when older than ``ttl``
    seconds: one statement reads the data version with the area rows newer than the last
    version read (all of them the first time), and the pyramid takes them in."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.pyramid = Pyramid()
        self._value = -1
        self._read_at = -math.inf

    async def _refresh(self, db: Database) -> None:
        """A request finding the versions older than ``ttl`` reads them itself, never waiting
        for another request's read (which may hang on a silent database): reads that overlap
        add the same rows, and the newest data version read stands."""
        began = time.monotonic()
        if began - self._read_at < self.ttl:
            return
        seen = self._value
        rows = await db.rows(area_versions(seen))
        if not rows:
            return
        if rows[0][0] < seen:  # a database restored from before: start over
            rows = await db.rows(area_versions(-1))
            self.pyramid, self._value = Pyramid(), -1
        for _, zoom, x, y, version in rows:
            if zoom is not None:
                self.pyramid.add(zoom, x, y, version)
        self._value = max(self._value, int(rows[0][0]))
        self._read_at = max(self._read_at, began)

    async def get(self, db: Database) -> int:
        """The data version (of the whole city)."""
        await self._refresh(db)
        return self._value

    async def of(self, db: Database, area: Area | None) -> int:
        """The version of ``area``: the data version without one."""
        await self._refresh(db)
        return area.version(self.pyramid) if area is not None else self._value


class SharedBodies:
    """Slow bodies kept in PostgreSQL (``geo.body_cache``) for every API process: looked up
    when this process has not kept one, stored when one was slow to make. A lookup or store
    that fails (the primary away, its pool busy) costs the request only the attempt: the body
    is made, or served, as without. Every ``PRUNE_EVERY`` stores prune the table. Bodies are
    kept by ``scope`` (the public URL their links start with) and tag: processes serving under
    another address never take each other's."""

    PRUNE_EVERY = 256
    FAILED = (psycopg2.Error, OSError, TimeoutError, Problem)

    def __init__(self, db: Database, max_bytes: int, *, scope: str) -> None:
        self.db = db
        self.max_bytes = max_bytes
        self.scope = scope
        self._stores = 0

    async def get(self, key: str) -> bytes | None:
        try:
            found = await self.db.scalar(body_cache.kept(f"{self.scope} {key}"))
        except self.FAILED:
            return None
        return bytes(found) if found is not None else None

    async def put(self, key: str, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self._stores += 1
        try:
            await self.db.rows(body_cache.keep(f"{self.scope} {key}", data))
            if self._stores % self.PRUNE_EVERY == 0:
                await self.db.rows(body_cache.prune(self.max_bytes))
        except self.FAILED:
            return


class BodyCache:
    """Response bodies that took at least ``min_seconds`` to make, least recently used first
    out once they pass ``max_bytes``. Concurrent requests for a body being made wait for it."""

    def __init__(self, max_bytes: int, min_seconds: float) -> None:
        self.max_bytes = max_bytes
        self.min_seconds = min_seconds
        self._generation: object = None
        self._bodies: OrderedDict[str, str | bytes] = OrderedDict()
        self._size = 0
        self._making: dict[str, asyncio.Event] = {}

    def _keep(self, key: str, body: str | bytes) -> None:
        size = len(body)
        if size > self.max_bytes // 4:
            return
        while self._bodies and self._size + size > self.max_bytes:
            self._size -= len(self._bodies.popitem(last=False)[1])
        self._bodies[key] = body
        self._size += size

    def _hit(self, key: str) -> str | bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    async def body(
        self, generation: object, key: str, make: Callable[[], Awaitable[str | bytes]]
    ) -> str | bytes:
        """The body for ``key``, made by ``make`` unless kept. Keys carry the version of what
        they describe, so bodies of older data are never asked for again and age out; a new
        ``generation`` (the date: days elapsed and remaining change daily) empties the cache."""
        if generation != self._generation:
            self._generation = generation
            self._bodies.clear()
            self._size = 0
        if (kept := self._hit(key)) is not None:
            return kept
        if (making := self._making.get(key)) is not None:
            await making.wait()
            kept = self._hit(key)
            return kept if kept is not None else await make()
        self._making[key] = asyncio.Event()
        try:
            began = time.perf_counter()
            body = await make()
            if self.max_bytes and time.perf_counter() - began >= self.min_seconds:
                self._keep(key, body)
            return body
        finally:
            self._making.pop(key).set()


def etag(version: int, request: Request) -> str:
    """The version (the data's or its area's), today's date (days elapsed and remaining
    change daily) and the URL."""
    query = b"&".join(sorted(request.scope["query_string"].split(b"&")))
    key = f"{version}|{date.today().isoformat()}|{request.scope['path']}|".encode() + query
    return f'"{hashlib.blake2b(key, digest_size=12).hexdigest()}"'


def _candidates(header: str | None) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",")} if header else set()


def not_modified(request: Request, tag: str, *, exists: bool = True) -> bool:
    """Whether the client's copy (``If-None-Match``) is the one ``tag`` names; ``*`` matches
    only a resource that ``exists``."""
    wanted = _candidates(request.headers.get("if-none-match"))
    return tag in wanted or (exists and "*" in wanted)


async def cached(
    request: Request,
    media_type: str,
    produce: Callable[[Database], Awaitable[str | bytes]],
    *,
    area: Area | None = None,
    empty_status: int | None = None,
) -> Response:
    """Answer 304 when the client's copy is current, else the body ``produce`` reads.

    The tag carries the version of ``area`` (``api.areas``: what the route shows of the map),
    or without one the data version. With ``empty_status`` an empty body answers that status
    (204 for an empty tile). A tag is only ever sent with a 2xx answer, so a matching one
    stands for a 2xx; ``*`` matches only once ``produce`` has found the resource (it raises a
    problem when there is none).
    """
    db = await database(request)
    versions: Versions = request.app.state.data_version
    version = await versions.of(db, area)
    tag = etag(version, request)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, tag, exists=False):
        return Response(status_code=304, headers=headers)
    bodies: BodyCache = request.app.state.bodies
    shared: SharedBodies | None = request.app.state.shared_bodies

    async def make() -> str | bytes:
        if shared is not None and (kept := await shared.get(tag)) is not None:
            return kept
        began = time.perf_counter()
        made = await within_budget(produce, db)
        if shared is not None and time.perf_counter() - began >= bodies.min_seconds:
            await shared.put(tag, made)
        return made

    body = await bodies.body(date.today(), tag, make)
    if not_modified(request, tag):
        return Response(status_code=304, headers=headers)
    if not body and empty_status:
        return Response(status_code=empty_status, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
