"""Real clients of /ogc: GDAL's OAPIF driver (through pyogrio, and Debian's ogrinfo) and
OWSLib's OGC API Features client, each compared with SQL on the database."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import text

from geo.settings import Settings
from layers import LAYERS
from layers.items import MAX_LIMIT
from tests.conftest import VERSION_TTL, Server, portal, serve

BBOX = (126.99, 37.49, 127.01, 37.51)


# GDAL holds the GIL while it waits for an answer from the test server, which runs in a thread
# of this process: each read runs in a process of its own, and prints what it read.
READ = """
import json, sys, pyogrio
url, options = json.loads(sys.argv[1])
if "layer" not in options:
    print(json.dumps([name for name, _ in pyogrio.list_layers(url)]))
else:
    if "bbox" in options:
        options["bbox"] = tuple(options["bbox"])
    frame = pyogrio.read_dataframe(url, **options)
    print(json.dumps({"codes": sorted(frame["code"]), "statuses": sorted(set(frame["status"])),
                      "columns": list(frame.columns), "crs": frame.crs.to_string()}))
"""


def gdal(server: Server, **options: object) -> tuple[Any, list[str]]:
    """What GDAL's OAPIF driver reads from the portal's /ogc (the collections, or a layer read
    with pyogrio's ``options``), and the URLs it fetched to read it."""
    done = subprocess.run(
        [sys.executable, "-c", READ, json.dumps([f"OAPIF:{server.base}/ogc", options])],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CPL_DEBUG": "ON"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), re.findall(r"HTTP: Fetch\((\S+)\)", done.stderr)


def _codes(engine, where: str = "true", **params: object) -> list[str]:
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT code FROM projects p WHERE p.published AND ({where}) ORDER BY code"),
            params,
        )
        return list(found.scalars())


def test_gdal_lists_the_collections_and_reads_every_published_project(server, engine) -> None:
    assert gdal(server)[0] == list(LAYERS)
    projects, _ = gdal(server, layer="projects")
    assert projects["codes"] == _codes(engine)
    assert projects["crs"] == "OGC:CRS84"
    assert {"code", "title", "status", "budget", "planned_start"} <= set(projects["columns"])


def test_gdal_sends_its_bbox_and_pages_of_the_advertised_limit(server, engine) -> None:
    found, fetched = gdal(server, layer="projects", bbox=BBOX)
    west, south, east, north = BBOX
    sql = "ST_Intersects(p.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
    assert found["codes"] == _codes(engine, sql, w=west, s=south, e=east, n=north)
    reads = [parse_qs(urlsplit(url).query) for url in fetched if "/items?" in url]
    assert any("bbox" in query and query["limit"] == [str(MAX_LIMIT)] for query in reads), fetched


def test_gdal_passes_an_attribute_filter_to_the_server(server, engine) -> None:
    found, fetched = gdal(server, layer="projects", where="status = 'implementation'")
    assert found["codes"] == _codes(engine, "p.status = 'implementation'")
    assert found["statuses"] == ["implementation"]
    # the server did the filtering: GDAL asked for the queryable as a query parameter
    assert [url for url in fetched if "/items?" in url and "status=implementation" in url]


def test_gdal_evaluates_what_it_cannot_send_and_still_agrees_with_sql(server, engine) -> None:
    where = "status = 'implementation' OR budget > 1000000000"
    found, _ = gdal(server, layer="projects", where=where)
    assert found["codes"] == _codes(engine, where.replace("status", "p.status"))


@pytest.fixture(scope="module")
def published_portal(db_url: str) -> Iterator[Server]:
    """The portal as deployed behind its public URL (``ALLIMI_PUBLIC_URL``), so that its links
    are absolute: what GDAL before 3.7 (Debian's ogrinfo) needs to follow them."""
    settings = Settings(database_url=db_url, version_ttl=VERSION_TTL)
    app = portal(settings)
    for running in serve(settings, app):
        app.state.settings = settings.model_copy(update={"public_url": running.base})
        yield running


def _ogrinfo(*args: str) -> str:
    if shutil.which("ogrinfo") is None:
        pytest.fail("ogrinfo is missing: install Debian's gdal-bin (scripts/test does).")
    done = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout


def test_ogrinfo_lists_the_collections_and_counts_the_projects(published_portal, engine) -> None:
    listing = _ogrinfo("-so", f"OAPIF:{published_portal.base}/ogc")
    assert re.findall(r"^\d+: (\w+)", listing, re.MULTILINE) == list(LAYERS)
    summary = _ogrinfo("-so", f"OAPIF:{published_portal.base}/ogc", "projects")
    assert f"Feature Count: {len(_codes(engine))}" in summary
    filtered = _ogrinfo(
        "-al", "-q", f"OAPIF:{published_portal.base}/ogc", "projects",
        "-where", "status = 'implementation'",
    )  # fmt: skip
    assert filtered.count("OGRFeature(projects)") == len(
        _codes(engine, "p.status = 'implementation'")
    )


def test_owslib_lists_collections_and_pages_through_every_project(server, engine) -> None:
    client = Features(f"{server.base}/ogc")
    assert [c["id"] for c in client.collections()["collections"]] == list(LAYERS)
    assert "status" in client.collection_queryables("projects")["properties"]
    pages, codes, cursor = 0, [], None
    while True:
        page = client.collection_items(
            "projects", limit=2, **({"cursor": cursor} if cursor else {})
        )
        pages += 1
        assert page["numberMatched"] == len(_codes(engine))
        codes += [f["properties"]["code"] for f in page["features"]]
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        cursor = parse_qs(urlsplit(following[0]).query)["cursor"][0]
    assert len(codes) == len(set(codes)) == len(_codes(engine))
    assert pages == (len(codes) + 1) // 2
    filtered = client.collection_items(
        "projects", filter="category IN ('road', 'water')", limit=1000
    )
    assert len(filtered["features"]) == len(_codes(engine, "p.category IN ('road', 'water')"))
