"""The OC4IDS round trip: the test city with its history (``test_oc4ids_export``) exported,
the package imported by the officials' importer into an empty database of the same city and
agencies, and exported again: the two packages are equal but for their timestamps.

What is excluded, and nothing else: the package's ``publishedDate`` (when its data last
changed) and each project's ``updated`` (when it was last written: by the import, the second
time). Everything else is equal: ids, reports, documents, payments, and every cost and schedule
change with its reason and the date it was first recorded, kept by the import in the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from geo.changelog import verify_stored
from geo.imports.identity import OWN_PROJECT
from geo.imports.load import Options, import_file
from geo.imports.mapping import Mapping
from geo.imports.report import Report
from geo.oc4ids import oc4ids_settings
from geo.settings import Settings
from tests.conftest import seoul_agencies, serve
from tests.test_oc4ids_export import EXPORT, PUBLIC, Portal, history_city, validation_errors

TIMESTAMPS = ("publishedDate", "updated")  # of the package, of each project


@pytest.fixture(scope="module")
def portal(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from history_city(settings, "allimi_test_oc4ids_origin", tmp_path_factory.mktemp("f"))


@pytest.fixture(scope="module")
def exported(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first export, as a file."""
    response = portal.server.http.get(EXPORT)
    assert response.status_code == 200, response.text
    path = tmp_path_factory.mktemp("oc4ids") / "package.json"
    path.write_bytes(response.content)
    return path


@pytest.fixture()
def empty(settings: Settings) -> Iterator[Engine]:
    """The same city and agencies, no projects."""
    yield from seoul_agencies(settings, "allimi_test_oc4ids_empty")


def read(path_or_text: Path | str) -> dict[str, Any]:
    given = path_or_text.read_text("utf-8") if isinstance(path_or_text, Path) else path_or_text
    found: dict[str, Any] = json.loads(given, parse_float=Decimal)
    return found


def without_timestamps(package: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in package.items() if k not in TIMESTAMPS}
    out["projects"] = [
        {k: v for k, v in p.items() if k not in TIMESTAMPS} for p in package["projects"]
    ]
    return out


def imported(db: Engine, path: Path, **options: Any) -> Report:
    with db.begin() as conn:
        return import_file(conn, path, Mapping(), Options(**options))


def log(db: Engine) -> list[tuple[str, str | None, dict[str, Any]]]:
    with db.connect() as conn:
        assert verify_stored(conn) is None
        rows = conn.execute(text("SELECT action, project_code, content FROM changes ORDER BY seq"))
        return [(action, code, json.loads(content)) for action, code, content in rows]


COUNTS = text(
    "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM progress_reports), "
    "(SELECT count(*) FROM documents)"
)


def counts(db: Engine) -> tuple[int, ...]:
    """How many projects, reports and documents the database holds."""
    with db.connect() as conn:
        return tuple(conn.execute(COUNTS).one())


def export_of(db: Engine) -> dict[str, Any]:
    url = db.url.render_as_string(hide_password=False)
    for running in serve(Settings(database_url=url, public_url=PUBLIC, version_ttl=0)):
        response = running.http.get(EXPORT)
        assert response.status_code == 200, response.text
        return read(response.text)
    raise AssertionError("the portal did not start")


def test_export_import_export_is_equal_but_for_timestamps(exported: Path, empty: Engine) -> None:
    first = read(exported)
    report = imported(empty, exported)
    assert (report.rejected, report.applied) == ([], True)
    assert (report.rows, report.new) == (len(first["projects"]), len(first["projects"]))
    second = export_of(empty)
    assert validation_errors(second) == []
    assert without_timestamps(second) == without_timestamps(first)
    assert second["publishedDate"] > first["publishedDate"]
    with empty.connect() as conn:  # each project keeps its code: its id is <prefix>-<code>
        codes = conn.execute(text("SELECT code FROM projects ORDER BY id")).scalars().all()
    prefix = oc4ids_settings().prefix
    assert [f"{prefix}-{code}" for code in codes] == [p["id"] for p in first["projects"]]


def test_the_history_comes_into_the_log_with_its_dates_and_reasons(
    exported: Path, empty: Engine
) -> None:
    imported(empty, exported)
    entries = log(empty)
    changes = []  # (rationale, date) of each change: money and dates at once are two
    for project in read(exported)["projects"]:
        for process in project.get("contractingProcesses", []):
            numbered = {
                m["id"].split("-")[0]: m for m in process["summary"].get("modifications", [])
            }
            changes += [(m["rationale"], m["date"]) for m in numbered.values()]
    assert len(changes) == 4
    replayed = [content for action, _, content in entries if "imported_from" in content["fields"]]
    assert [(e["reason"], e["fields"]["recorded_at"][1]) for e in replayed] == changes
    assert all(e["fields"]["imported_from"][1].startswith("package.json (sha256 ")
               for e in replayed)  # fmt: skip
    assert [action for action, _, _ in entries].count("create") == len(read(exported)["projects"])
    assert entries[-1][0] == "import"


def test_importing_the_package_again_changes_nothing(exported: Path, empty: Engine) -> None:
    imported(empty, exported)
    before = log(empty), counts(empty)
    again = imported(empty, exported)
    assert (again.new, again.changed, again.unchanged, again.rejected) == (0, 0, again.rows, [])
    assert (log(empty), counts(empty)) == before


def test_a_dry_run_of_the_package_writes_nothing(exported: Path, empty: Engine) -> None:
    report = imported(empty, exported, dry_run=True)
    assert (report.new, report.rejected, report.applied) == (report.rows, [], False)
    assert (log(empty), counts(empty)) == ([], (0, 0, 0))


def test_a_portal_refuses_its_own_export_rather_than_copy_its_projects(
    portal: Portal, exported: Path
) -> None:
    """Each project of the package is one the portal exports under that id: importing it
    would make a second one."""
    report = imported(portal.engine, exported)
    ids = [p["id"] for p in read(exported)["projects"]]
    assert [(row, name) for row, name, _ in report.rejected] == [
        (row, "id") for row in range(1, len(ids) + 1)
    ]
    code = ids[0].removeprefix(f"{oc4ids_settings().prefix}-")
    assert report.rejected[0][2] == OWN_PROJECT.format(code=code)
    assert not report.applied


def test_an_imported_change_is_disclosed_on_its_own_date(exported: Path, empty: Engine) -> None:
    """A citizen sees each replayed change when it happened, with its reason, and only the
    fields it changed (not where the import found it)."""
    imported(empty, exported)
    replayed = {}  # project code -> [(reason, date)], from the log
    for _, code, content in log(empty):
        if code and "recorded_at" in content["fields"]:
            when = content["fields"]["recorded_at"][1]
            replayed.setdefault(code, []).append((content["reason"], when))
    assert replayed
    url = empty.url.render_as_string(hide_password=False)
    for running in serve(Settings(database_url=url, version_ttl=0)):
        for code, changes in replayed.items():
            disclosed = running.http.get(f"/api/projects/{code}").json()["properties"]
            revisions = disclosed["revisions"]
            shown = [(r["reason"], r["at"]) for r in revisions if r["reason"] in dict(changes)]
            assert [(reason, datetime.fromisoformat(at)) for reason, at in shown] == [
                (reason, datetime.fromisoformat(when)) for reason, when in changes
            ]
            assert all({"recorded_at", "imported_from"}.isdisjoint(r["fields"]) for r in revisions)
