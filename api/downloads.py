"""Bulk downloads of every published project: GeoJSON, CSV and GeoPackage, and their page.

GeoJSON and CSV are streamed from a cursor (``Database.stream``): no city is too large to be
held whole. The GeoPackage is a file pyogrio writes: each API process makes it once per data
version, in a folder of its own, however many clients ask at once. Every file is named for the
city and the data's date, and tagged with the data version (ETag, 304).

The CSV is UTF-8 with a byte-order mark: Excel, which most people in Korea open a CSV with,
reads a CSV without one in the system's legacy code page (CP949), and Korean text turns to
mojibake; with it, Excel, LibreOffice, pandas (``utf-8-sig``) and R read the text as it is.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from anyio import from_thread, to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from api.caching import cached, not_modified
from api.city import City, city
from api.database import Database, database
from api.limits import within_budget
from api.links import href
from api.problems import documented
from api.rendering import formatter, page_language, templates, texts
from api.security import allow_inline
from api.streaming import Layout, file_headers, streamed
from geo.downloads import (
    CSV_COLUMNS,
    FACTS,
    csv_rows,
    geojson_rows,
    geopackage_rows,
    write_geopackage,
)
from geo.sql import Query as Statement
from geo.transaction import Rows
from web.messages import messages

router = APIRouter(tags=["open data"])
GEOJSON = "application/geo+json"
CSV = "text/csv"
GEOPACKAGE = "application/geopackage+sqlite3"
HTML = "text/html"
BOM = "\ufeff"
CHUNK = 2000  # rows a fetch brings
KEPT_GEOPACKAGES = 2  # the newest versions' files: one may still be being sent
FILES = {"geojson": GEOJSON, "csv": CSV, "gpkg": GEOPACKAGE}
GEOJSON_LAYOUT = Layout(
    '{"type":"FeatureCollection","features":[',
    lambda rows: ",".join(row["feature"] for row in rows),
    ",",
    "]}\n",
)


def _file(extension: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "content": {FILES[extension]: {}},
            "description": "Every published project, as an attachment named for the city and "
            "the data's date",
        }
    }


async def _streamed(
    request: Request, here: City, extension: str, query: Statement, layout: Layout
) -> Response:
    _, headers = await file_headers(request, here, f"projects.{extension}")
    return await streamed(request, query, CHUNK, layout, FILES[extension], headers)


@router.get("/api/downloads/projects.geojson", response_class=Response, responses=_file("geojson"))
async def geojson(request: Request, here: Annotated[City, Depends(city)]) -> Response:
    """Every published project as one GeoJSON FeatureCollection (EPSG:4326), with the
    columns of the CSV (but for its lon, lat and wkt) as each Feature's properties."""
    return await _streamed(
        request, here, "geojson", geojson_rows(here.jurisdiction.language), GEOJSON_LAYOUT
    )


def _csv_lines(rows: Rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        [row[c.name] for c in CSV_COLUMNS] for row in rows
    )
    return out.getvalue()


CSV_LAYOUT = Layout(BOM + ",".join(c.name for c in CSV_COLUMNS) + "\r\n", _csv_lines, "", "")


@router.get("/api/downloads/projects.csv", response_class=Response, responses=_file("csv"))
async def csv_file(request: Request, here: Annotated[City, Depends(city)]) -> Response:
    """Every published project as one CSV row (RFC 4180, UTF-8 with a byte-order mark for
    Excel), with the columns the download page lists, in that order."""
    return await _streamed(request, here, "csv", csv_rows(here.jurisdiction.language), CSV_LAYOUT)


class GeoPackages:
    """The GeoPackage of each data version asked for, made once, in a folder of this process;
    only the newest ``KEPT_GEOPACKAGES`` are kept."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="allimi-geopackages-")
        self._made: OrderedDict[int, Path] = OrderedDict()
        self._making: dict[int, asyncio.Future[Path]] = {}

    def made(self, version: int) -> Path | None:
        return self._made.get(version)

    async def make(self, version: int, rows: Callable[[], AsyncGenerator[Rows, None]]) -> Path:
        """The file of ``version`` made from ``rows``; concurrent requests wait for the one
        being made, which goes on should its requester leave."""
        making = self._making.get(version)
        if making is None:
            making = self._making[version] = asyncio.ensure_future(self._make(version, rows()))
            making.add_done_callback(lambda _: self._making.pop(version, None))
        return await asyncio.shield(making)

    async def _make(self, version: int, rows: AsyncGenerator[Rows, None]) -> Path:
        path = Path(self._folder.name) / f"{version}.gpkg"
        partial = path.with_name(f"{version}-making.gpkg")
        partial.unlink(missing_ok=True)
        try:
            first = await _next(rows)  # the cursor opens for the client that asked

            def chunks() -> Iterator[Rows]:
                """In the writing thread: each further chunk, fetched on the event loop."""
                chunk = first
                while chunk:
                    yield chunk
                    chunk = from_thread.run(_next, rows)

            await to_thread.run_sync(write_geopackage, partial, chunks())
        finally:
            await rows.aclose()
        partial.rename(path)
        self._made[version] = path
        while len(self._made) > KEPT_GEOPACKAGES:
            self._made.popitem(last=False)[1].unlink(missing_ok=True)
        return path


async def _next(rows: AsyncGenerator[Rows, None]) -> Rows:
    return await anext(rows, [])


@router.get("/api/downloads/projects.gpkg", response_class=Response, responses=_file("gpkg"))
async def geopackage(request: Request, here: Annotated[City, Depends(city)]) -> Response:
    """Every published project in one GeoPackage layer, ``projects`` (EPSG:4326), with the
    columns of the CSV (but for its lon, lat and wkt)."""
    version, headers = await file_headers(request, here, "projects.gpkg")
    if not_modified(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    geopackages: GeoPackages = request.app.state.geopackages
    path = geopackages.made(version)
    if path is None:
        db = await database(request)
        query = geopackage_rows(here.jurisdiction.language)
        path = await within_budget(geopackages.make, version, lambda: db.stream(query, CHUNK))
    return FileResponse(path, media_type=GEOPACKAGE, headers=headers)


def _page(here: City, lang: str, changed: datetime, count: int, sample: bool, ogc_url: str) -> str:
    j = here.jurisdiction
    fmt = formatter(lang, j.currency, here)
    t = texts(lang)
    return templates.get_template("downloads.html").render(
        lang=lang,
        t=t,
        city=(j.name.get(lang) or j.local(j.name)),
        languages=[(code, messages(code)["language.name"]) for code in j.languages],
        licence_name=(j.licence.name.get(lang) or j.local(j.licence.name)),
        licence_url=j.licence.url,
        changed=fmt.day(changed.isoformat()),
        count=fmt.count(count),
        sample=sample,
        attribution=j.attribution,
        columns=CSV_COLUMNS,
        files=list(FILES),
        ogc_url=ogc_url,
    )


@router.get(
    "/downloads",
    response_class=Response,
    responses={
        200: {"content": {HTML: {}}, "description": "The download page"},
        400: documented("lang is not a language Allimi has messages for."),
    },
)
async def downloads_page(
    request: Request,
    here: Annotated[City, Depends(city)],
    lang: Annotated[str, Depends(page_language)],
) -> Response:
    """The open-data page: the downloads, the feeds, the licence, the data's date and the
    columns of the files."""

    async def produce(db: Database) -> str:
        [(changed, count, sample)] = await db.rows(FACTS)
        return _page(here, lang, changed, count, sample, href(request, "/ogc"))

    return allow_inline(request, await cached(request, HTML, produce))
