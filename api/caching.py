"""HTTP caching keyed by the data version: ETag, Cache-Control and 304 Not Modified.

Every write bumps ``data_version`` (a trigger), so a tag made of that version and the request
stays valid exactly as long as the data it describes. Any number of API processes agree on it.
Each process reads the version at most once per ``ALLIMI_VERSION_TTL`` seconds, so a request
costs one round trip to the database, not two.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from datetime import date

from fastapi import Request, Response

from api.database import Database, database
from geo.sql import Query

CACHE_CONTROL = "public, max-age=15, must-revalidate"
VERSION = Query("SELECT version FROM data_version")


class DataVersion:
    """The database's data version, re-read when older than ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._value = 0
        self._read_at = -math.inf

    async def get(self, db: Database) -> int:
        now = time.monotonic()
        if now - self._read_at >= self.ttl:
            self._value = int(await db.scalar(VERSION))
            self._read_at = now
        return self._value


def etag(version: int, request: Request) -> str:
    """The data version, today's date (days elapsed and remaining change daily) and the URL."""
    query = b"&".join(sorted(request.scope["query_string"].split(b"&")))
    key = f"{version}|{date.today().isoformat()}|{request.scope['path']}|".encode() + query
    return f'"{hashlib.blake2b(key, digest_size=12).hexdigest()}"'


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return tag in candidates or "*" in candidates


async def cached(
    request: Request,
    media_type: str,
    produce: Callable[[Database], Awaitable[str | bytes]],
    *,
    empty_status: int | None = None,
) -> Response:
    """Answer 304 when the client's copy is current, else the body ``produce`` reads.

    With ``empty_status`` an empty body answers that status (204 for an empty tile).
    """
    db = database(request)
    tag = etag(await request.app.state.data_version.get(db), request)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    body = await produce(db)
    if not body and empty_status:
        return Response(status_code=empty_status, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
