"""Files written as PostGIS reads them (the bulk downloads, the OC4IDS package): a head, the
text of each chunk of rows, a tail, never the whole file in memory.

The first chunk is read before the answer starts, so that a busy or failing database is still
a problem (503), not a cut-off 200. A ``HEAD`` gets the headers alone: the cursor is closed
before a single row more is read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from api.caching import CACHE_CONTROL, etag, not_modified
from api.city import City
from api.database import database
from api.head import is_head
from api.limits import within_budget
from api.problems import Problem
from geo.downloads import DATA_DATE
from geo.sql import Query
from geo.transaction import Rows


@dataclass(frozen=True)
class Layout:
    """How rows become a file: ``head``, each chunk's text (``text``) with ``separator``
    between chunks, then ``tail``."""

    head: str
    text: Callable[[Rows], str]
    separator: str
    tail: str


async def file_headers(request: Request, here: City, name: str) -> tuple[int, dict[str, str]]:
    """The current data version, and the headers of a file made from it: ``ETag``, caching,
    and an attachment named for the city and the data's date (``projects.csv`` is saved as
    ``seoul-projects-2026-03-01.csv``, and under the city's own name by clients that take
    UTF-8 names)."""
    db = await database(request)
    version = await request.app.state.data_version.get(db)
    j = here.jurisdiction
    changed: datetime = await db.scalar(DATA_DATE)
    day = changed.astimezone(ZoneInfo(j.timezone)).date().isoformat()
    stem, _, extension = name.rpartition(".")
    plain = f"{j.code_prefix.lower()}-{stem}-{day}.{extension}"
    own = f"{'-'.join(j.local(j.name).split())}-{stem}-{day}.{extension}"
    return version, {
        "ETag": etag(version, request),
        "Cache-Control": CACHE_CONTROL,
        "Content-Disposition": f'attachment; filename="{plain}"; '
        f"filename*=UTF-8''{quote(own, safe='')}",
    }


async def streamed(
    request: Request,
    query: Query,
    chunk: int,
    layout: Layout,
    media_type: str,
    headers: dict[str, str],
    empty: Problem | None = None,
) -> Response:
    """The rows of ``query`` as a file laid out by ``layout``; 304 when the client's copy
    (``headers``' ETag) is current; ``empty`` raised when there is no row at all."""
    if not_modified(request, headers["ETag"], exists=empty is None):
        return Response(status_code=304, headers=headers)
    rows = (await database(request)).stream(query, chunk)
    first: Rows = await within_budget(anext, rows, [])
    if not first and empty is not None:
        raise empty
    if not_modified(request, headers["ETag"]):  # ``*``, now that the file exists
        await rows.aclose()
        return Response(status_code=304, headers=headers)
    if is_head(request):
        await rows.aclose()
        return StreamingResponse(iter(()), media_type=media_type, headers=headers)
    return StreamingResponse(_body(layout, first, rows), media_type=media_type, headers=headers)


async def _body(
    layout: Layout, first: Rows, rest: AsyncGenerator[Rows, None]
) -> AsyncIterator[str]:
    try:
        yield layout.head + layout.text(first)
        async for rows in rest:
            yield layout.separator + layout.text(rows)
        yield layout.tail
    finally:
        await rest.aclose()
