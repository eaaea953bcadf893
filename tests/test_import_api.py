"""Imports over HTTP: an official uploads a file with its mapping, polls the dry run, applies
it, and the projects are public; refusals are problems that leave the file store as it was."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests.conftest import WRITERS, hand_made_city, serve, signed_in
from tests.test_imports import MAPPING, frame, records
from tests.test_reports import Site

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def site(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = hand_made_city(settings, "allimi_test_import_api")
    engine = engine_for(url)
    files = tmp_path_factory.mktemp("files")
    with engine.begin() as conn:
        tokens = {who: token for who, (_, token) in signed_in(conn, WRITERS).items()}
    for running in serve(Settings(database_url=url, version_ttl=0, files_dir=files)):
        yield Site(running, engine, files, tokens)
    engine.dispose()
    drop_database(url)


def geojson(tmp_path: Path, rows: list[dict[str, Any]]) -> bytes:
    path = tmp_path / "upload.geojson"
    frame(rows).to_file(path, driver="GeoJSON")
    return path.read_bytes()


def upload(site: Site, who: str, content: bytes, **fields: str) -> Any:
    form = {"mapping": json.dumps(MAPPING, ensure_ascii=False), **fields}
    return site.server.http.post(
        "/api/imports", headers=site.as_(who), data=form,
        files={"file": ("사업목록.geojson", content, "application/geo+json")},
    )  # fmt: skip


def finished(site: Site, who: str, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = site.server.http.get(location, headers=site.as_(who)).json()
        if job["state"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"{location} still runs")


def imported_codes(site: Site) -> list[str]:
    with site.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT code FROM projects WHERE source_key IS NOT NULL ORDER BY code")
            ).scalars()
        )


def kept_files(site: Site) -> list[str]:
    return sorted(p.name for p in (site.files / "imports").glob("*")) if site.files.exists() else []


def test_an_official_dry_runs_then_applies_an_import(site: Site, tmp_path: Path) -> None:
    started = upload(site, "roads", geojson(tmp_path, records()))
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location == f"/api/imports/{started.json()['id']}"
    dry = finished(site, "roads", location)
    assert (dry["state"], dry["dry_run"], dry["agency"], dry["file_name"]) == (
        "done", True, "TEST-ROADS", "사업목록.geojson",
    )  # fmt: skip
    assert {k: dry["report"][k] for k in ("rows", "new", "rejected", "applied")} == {
        "rows": 3, "new": 3, "rejected": [], "applied": False,
    }  # fmt: skip
    assert imported_codes(site) == []
    other = site.server.http.get(location, headers=site.as_("water"))
    assert other.status_code == 403
    assert other.headers["content-type"] == PROBLEM
    applied = site.server.http.post(f"{location}/apply", headers=site.as_("roads"))
    assert applied.status_code == 202, applied.text
    done = finished(site, "roads", applied.headers["location"])
    assert (done["state"], done["dry_run"], done["report"]["applied"]) == ("done", False, True)
    codes = imported_codes(site)
    assert len(codes) == 3
    public = site.server.http.get("/api/projects", params={"q": "보도 정비", "limit": 10}).json()
    assert sorted(f["properties"]["code"] for f in public["features"]) == codes
    again = site.server.http.post(f"{location}/apply", headers=site.as_("roads"))
    assert again.status_code == 202  # the same file again: nothing new, nothing logged
    repeat = finished(site, "roads", again.headers["location"])
    assert (repeat["report"]["new"], repeat["report"]["unchanged"]) == (0, 3)
    not_dry = site.server.http.post(f"{applied.headers['location']}/apply",
                                    headers=site.as_("roads"))  # fmt: skip
    assert not_dry.status_code == 409


def test_rejected_rows_are_reported_and_cannot_be_applied(site: Site, tmp_path: Path) -> None:
    rows = records(2, 사업번호="X")  # one key twice
    started = upload(site, "roads", geojson(tmp_path, rows))
    job = finished(site, "roads", started.headers["location"])
    assert job["report"]["rejected"] == [
        {"row": 2, "field": "사업번호", "reason": "the same key as row 1"}
    ]
    refused = site.server.http.post(f"{started.headers['location']}/apply",
                                    headers=site.as_("roads"))  # fmt: skip
    assert refused.status_code == 409


def test_bad_uploads_are_problems_and_keep_nothing(site: Site, tmp_path: Path) -> None:
    before = kept_files(site)
    cases = [
        (upload(site, "roads", b"\x89PNG\r\n\x1a\n" + b"\0" * 64), 422, "file"),
        (upload(site, "roads", geojson(tmp_path, records()), mapping='{"fields": {"x": "y"}}'),
         422, "fields"),
        (upload(site, "roads", geojson(tmp_path, records()), agency="TEST-WATER"), 403, "agency"),
        (upload(site, "admin", geojson(tmp_path, records()), agency="NOWHERE"), 422, "agency"),
        (upload(site, "roads", geojson(tmp_path, records()), dry_run="maybe"), 422, "dry_run"),
    ]  # fmt: skip
    for answer, status, param in cases:
        assert (answer.status_code, answer.headers["content-type"]) == (status, PROBLEM), (
            answer.text
        )
        assert answer.json()["errors"][0]["parameter"] == param, answer.text
    assert kept_files(site) == before
    missing = site.server.http.get("/api/imports/999999", headers=site.as_("roads"))
    assert missing.status_code == 404
