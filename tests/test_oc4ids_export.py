"""The OC4IDS export over HTTP, on the hand-made test city in a database of its own, given a
history through the write API (revised money and dates with their reasons, a progress report
with a photo and a PDF, a suspended project, a new project, a withdrawn one): the package
validates against the 0.9.5 schema (``data/oc4ids``, no network), every code is in its
codelist, every organisation reference is a party, nothing is empty, and each project says what
the database holds. A city of sample projects shows that the package is streamed."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from jsonschema import Draft4Validator, FormatChecker
from pydantic import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import Engine, text

from geo.oc4ids import OC4IDSSettings, oc4ids_settings
from geo.oc4ids.codes import codelist
from geo.sample.generator import SampleSpec
from geo.sample.loader import load_sample
from geo.settings import DATA_DIR, Settings
from geo.store.database import drop_database, engine_for
from tests import city
from tests.conftest import Server, hand_made_city, problem, serve, signed_in
from tests.test_reports import PDF, png

PUBLIC = "https://allimi.example.org"
EXPORT = "/api/export/oc4ids.json"
SCHEMAS = DATA_DIR / "oc4ids"
PACKAGE_SCHEMA = json.loads((SCHEMAS / "project-package-schema.json").read_text(encoding="utf-8"))
PROJECT_SCHEMA = json.loads((SCHEMAS / "project-schema.json").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource(
    PROJECT_SCHEMA["id"], Resource.from_contents(PROJECT_SCHEMA, default_specification=DRAFT4)
)


# ---- the test city with a history -----------------------------------------------------------
@dataclass(frozen=True)
class Portal:
    server: Server
    engine: Engine


def _version(http: httpx.Client, code: str) -> dict[str, str]:
    return {"If-Match": f'"{http.get(f"/api/projects/{code}").json()["properties"]["version"]}"'}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


def make_history(http: httpx.Client, tokens: dict[str, str]) -> None:
    """What officials do through the write API: revise money and dates with reasons, report
    progress with files, suspend works, add a project and withdraw another."""
    roads = {"Authorization": f"Bearer {tokens['roads']}"}
    water = {"Authorization": f"Bearer {tokens['water']}"}

    def edit(code: str, who: dict[str, str], changes: dict[str, Any]) -> None:
        headers = {**who, **_version(http, code)}
        _ok(http.patch(f"/api/projects/{code}", json=changes, headers=headers))

    edit(city.ROAD.code, roads, {"budget": "1200000000", "planned_end": "2027-06-30",
                                 "reason": "우수관로 추가 설계 변경"})  # fmt: skip
    edit(city.ROAD.code, roads, {"contract_value": "1000000000", "reason": "물가 변동 계약 조정"})
    _ok(
        http.post(
            f"/api/projects/{city.ROAD.code}/progress",
            data={
                "reported_on": "2026-07-31",
                "actual": "55",
                "planned": "65",
                "spent_to_date": "600000000",
                "note": "포장 2구간 착수",
            },
            files=[("files", ("site.png", png())), ("files", ("report.pdf", PDF))],
            headers=roads,
        )
    )
    edit(city.VALVE.code, water, {"planned_start": "2026-02-15", "planned_end": "2027-01-31",
                                  "reason": "관로 이설 협의 지연"})  # fmt: skip
    edit(city.STALE.code, water, {"status": "suspended"})
    new = {
        "title": "시험로 보도 확장공사", "category": "road", "project_type": "expansion",
        "status": "preparation", "budget": "300000000", "planned_start": "2027-03-01",
        "planned_end": "2027-10-31", "published": True,
        "geometry": {"type": "LineString", "coordinates": [[127.001, 37.5], [127.002, 37.5]]},
    }  # fmt: skip
    made = _ok(http.post("/api/projects", json=new, headers=roads))
    edit(made["code"], roads, {"budget": "350000000", "reason": "보도 폭 확대"})
    gone = _ok(http.post("/api/projects", json={**new, "title": "잘못 등록한 공사"}, headers=roads))
    _ok(http.request("DELETE", f"/api/projects/{gone['code']}", json={"reason": "중복 등록"},
                     headers=roads))  # fmt: skip


def history_city(settings: Settings, name: str, files: Path) -> Iterator[Portal]:
    """The hand-made city with ``make_history`` done, served with a public URL; dropped after."""
    url = hand_made_city(settings, name)
    engine = engine_for(url)
    with engine.begin() as conn:
        people = signed_in(conn, [("roads", "official", "TEST-ROADS"),
                                  ("water", "official", "TEST-WATER")])  # fmt: skip
    served = Settings(
        database_url=url, version_ttl=0, files_dir=files, public_url=PUBLIC,
        rate_per_s=10_000, rate_burst=10_000,
    )  # fmt: skip
    for running in serve(served):
        make_history(running.http, {who: token for who, (_, token) in people.items()})
        yield Portal(running, engine)
    engine.dispose()
    drop_database(url)


@pytest.fixture(scope="module")
def portal(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from history_city(settings, "allimi_test_oc4ids_export", tmp_path_factory.mktemp("f"))


@pytest.fixture(scope="module")
def package(portal: Portal) -> dict[str, Any]:
    response = portal.server.http.get(EXPORT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    found: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
    return found


# ---- reading a package by its schema ---------------------------------------------------------
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339: a date, a time and an offset."""
    return not isinstance(value, str) or (
        "T" in value and datetime.fromisoformat(value).tzinfo is not None
    )


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def validation_errors(package: dict[str, Any]) -> list[str]:
    """Every error of ``package`` against the local package schema, the project schema found
    by its ``id`` in the registry (nothing is fetched), formats checked."""
    validator = Draft4Validator(PACKAGE_SCHEMA, registry=REGISTRY, format_checker=FORMATS)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(package)]


def walk(schema: dict[str, Any], value: Any, resolver: Any = None) -> Iterator[tuple[dict, Any]]:
    """Each (schema, value) pair of ``value`` as the schema describes it, references resolved;
    a referenced definition's schema carries its name as ``definition``."""
    resolver = resolver or REGISTRY.resolver(PACKAGE_SCHEMA["id"])
    if "$ref" in schema:
        found = resolver.lookup(schema["$ref"])
        named = {**found.contents, "definition": schema["$ref"].rsplit("/", 1)[-1]}
        yield from walk(named, value, found.resolver)
        return
    yield schema, value
    if isinstance(value, dict):
        for name, inner in value.items():
            if name in schema.get("properties", {}):
                yield from walk(schema["properties"][name], inner, resolver)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            yield from walk(schema["items"], item, resolver)


def codes_outside(package: dict[str, Any]) -> list[tuple[str, Any]]:
    """(codelist, code) for every code written that is not in its codelist."""
    out = []
    for schema, value in walk(PACKAGE_SCHEMA, package):
        if "codelist" in schema:
            codes = codelist(schema["codelist"].removesuffix(".csv"))
            for code in value if isinstance(value, list) else [value]:
                if code not in codes:
                    out.append((schema["codelist"], code))
    return out


def empties(value: Any, path: str = "") -> list[str]:
    """The paths of every empty string, list or object, and every null."""
    if value in ("", [], {}, None):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empties(v, f"{path}[{i}]")]
    return []


def by_id(package: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in package["projects"]}


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def day(value: date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


# ---- the package -------------------------------------------------------------------------------
def test_the_package_validates_against_the_schema_with_no_error(
    portal: Portal, package: dict
) -> None:
    assert validation_errors(package) == []
    assert package["uri"] == PUBLIC + EXPORT
    assert package["version"] == "0.9"
    (city_row,) = rows(
        portal.engine, "SELECT name ->> languages[1] AS name, licence ->> 'url' AS url, "
        "(SELECT changed_at FROM data_version) AS changed FROM jurisdiction",
    )  # fmt: skip
    assert package["publisher"] == {"name": city_row["name"], "uri": PUBLIC}
    assert package["license"] == city_row["url"]
    assert datetime.fromisoformat(package["publishedDate"]) == city_row["changed"]


def test_every_code_is_in_its_codelist(package: dict) -> None:
    assert codes_outside(package) == []
    coded = [s["codelist"] for s, _ in walk(PACKAGE_SCHEMA, package) if "codelist" in s]
    assert {"projectStatus.csv", "projectType.csv", "projectSector.csv", "partyRole.csv",
            "contractNature.csv", "metricID.csv", "modificationType.csv", "documentType.csv",
            "currency.csv", "geometryType.csv"} <= set(coded)  # fmt: skip


def test_every_organisation_reference_is_a_party_of_its_project(package: dict) -> None:
    references = 0
    for project in package["projects"]:
        parties = {p["id"]: p["name"] for p in project["parties"]}
        schema = {"$ref": PROJECT_SCHEMA["id"]}
        for found, value in walk(schema, project):
            if found.get("definition") == "OrganizationReference":
                references += 1
                assert parties.get(value["id"]) == value["name"], (project["id"], value)
    assert references > len(package["projects"])


def test_nothing_is_written_empty(package: dict) -> None:
    assert empties(package) == []


def test_the_projects_are_the_published_ones_not_withdrawn(portal: Portal, package: dict) -> None:
    prefix = oc4ids_settings().prefix
    listed = rows(
        portal.engine,
        "SELECT code FROM projects WHERE published AND withdrawn_at IS NULL ORDER BY id",
    )
    assert [p["id"] for p in package["projects"]] == [f"{prefix}-{r['code']}" for r in listed]
    assert len(listed) == len(city.PUBLISHED) + 1  # the new one; not the draft, not the withdrawn


def test_each_project_says_what_the_database_holds(portal: Portal, package: dict) -> None:
    prefix = oc4ids_settings().prefix
    stored = rows(
        portal.engine,
        """
        SELECT p.code, p.title, p.status, p.project_type, p.category, c.oc4ids AS sector,
               p.agency_code, p.contractor, p.supervisor, p.budget, p.contract_value, p.spent,
               p.progress_actual, p.planned_start, p.planned_end, p.actual_start, p.actual_end,
               p.address, ST_AsGeoJSON(p.geom, 7)::json AS geometry
        FROM projects p JOIN categories c ON c.code = p.category
        WHERE p.published AND p.withdrawn_at IS NULL
        """,
    )
    projects = by_id(package)
    for row in stored:
        project = projects[f"{prefix}-{row['code']}"]
        assert project["title"] == row["title"]
        assert project["allimi"]["status"] == row["status"]
        assert project["status"] == {"suspended": "implementation"}.get(
            row["status"], row["status"]
        )
        assert project["type"] == row["project_type"]
        assert project["allimi"]["category"] == row["category"]
        assert project["sector"][-1] == row["sector"]
        assert project["publicAuthority"]["id"] == row["agency_code"]
        assert project["budget"]["amount"] == {"amount": row["budget"], "currency": "KRW"}
        assert project["period"] == {
            "startDate": day(row["planned_start"]),
            "endDate": day(row["planned_end"]),
        }
        location = project["locations"][0]
        assert location["geometry"] == json.loads(json.dumps(row["geometry"]), parse_float=Decimal)
        assert location.get("address", {}).get("streetAddress") == row["address"]
        processes = {c["id"]: c["summary"] for c in project.get("contractingProcesses", [])}
        for nature, name in (
            ("construction", row["contractor"]),
            ("supervision", row["supervisor"]),
        ):
            suppliers = processes.get(nature, {}).get("suppliers", [])
            assert [s["name"] for s in suppliers] == ([name] if name else [])
        spent = {o["id"]: o["value"]["amount"] for m in project.get("metrics", [])
                 for o in m["observations"] if m["id"] == "financialProgress"}  # fmt: skip
        assert spent.get("current", spent[max(spent)] if spent else 0) == row["spent"]
        if row["actual_end"] is not None:
            assert project["completion"] == {
                "endDate": day(row["actual_end"]),
                "finalValue": {"amount": row["spent"], "currency": "KRW"},
            }
        else:
            assert "completion" not in project


def test_the_progress_history_is_metrics_and_payments(portal: Portal, package: dict) -> None:
    prefix = oc4ids_settings().prefix
    reports = rows(
        portal.engine,
        """
        SELECT r.reported_on, r.actual, r.planned, r.spent_to_date, r.note FROM progress_reports r
        JOIN projects p ON p.id = r.project_id WHERE p.code = :code AND r.state = 'approved'
        ORDER BY r.reported_on
        """,
        code=city.ROAD.code,
    )
    assert len(reports) == 3
    road = by_id(package)[f"{prefix}-{city.ROAD.code}"]
    metrics = {m["id"]: m["observations"] for m in road["metrics"]}
    assert [(o["period"]["endDate"], o["measure"], o.get("notes")) for o in
            metrics["physicalProgress"]] == [
        (day(r["reported_on"]), r["actual"], r["note"]) for r in reports]  # fmt: skip
    assert [o["value"]["amount"] for o in metrics["financialProgress"]] == [
        r["spent_to_date"] for r in reports
    ]  # the last report's figures are the project's: no "current" observation
    (planned,) = road["forecasts"]
    assert [o["measure"] for o in planned["observations"]] == [r["planned"] for r in reports]
    steps = [(r["reported_on"], r["spent_to_date"]) for r in reports]
    paid = [(day(d), s - (steps[i - 1][1] if i else 0)) for i, (d, s) in enumerate(steps)]
    assert [(t["date"], t["value"]["amount"]) for t in road["transactions"]] == paid
    assert all(t["payer"]["id"] == "TEST-ROADS" for t in road["transactions"])
    assert "payer" in road["parties"][0]["roles"]


def test_documents_are_listed_with_their_types(portal: Portal, package: dict) -> None:
    prefix = oc4ids_settings().prefix
    stored = rows(
        portal.engine,
        """
        SELECT d.title, d.document_type, d.url, d.media_type, d.published_on FROM documents d
        JOIN projects p ON p.id = d.project_id WHERE p.code = :code
        ORDER BY d.published_on, d.id
        """,
        code=city.ROAD.code,
    )
    documents = by_id(package)[f"{prefix}-{city.ROAD.code}"]["documents"]
    assert [(d["title"], d["documentType"], d["url"], d["format"], d["datePublished"])
            for d in documents] == [
        (r["title"], r["document_type"], PUBLIC + r["url"], r["media_type"],
         day(r["published_on"])) for r in stored]  # fmt: skip
    assert {"illustration", "physicalProgressReport"} <= {d["documentType"] for d in documents}


def test_cost_and_schedule_changes_are_modifications_with_reasons(
    portal: Portal, package: dict
) -> None:
    prefix = oc4ids_settings().prefix
    logged = rows(
        portal.engine,
        """
        SELECT c.project_code AS code, c.at, c.content::jsonb -> 'fields' AS fields,
               c.content::jsonb ->> 'reason' AS reason
        FROM changes c WHERE c.action = 'edit'
          AND (c.content::jsonb -> 'fields') ?| ARRAY['budget', 'contract_value',
                                                      'planned_start', 'planned_end']
        ORDER BY c.seq
        """,
    )
    assert len(logged) == 4
    projects = by_id(package)
    for code in {r["code"] for r in logged}:
        entries = [r for r in logged if r["code"] == code]
        (construction,) = [
            c["summary"]
            for c in projects[f"{prefix}-{code}"]["contractingProcesses"]
            if c["id"] == "construction"
        ]
        expected = []
        for n, entry in enumerate(entries, 1):
            fields, stamp = entry["fields"], entry["at"].astimezone().isoformat()
            if {"budget", "contract_value"} & set(fields):
                expected.append((f"{n}-value", "value", entry["reason"], stamp))
            if {"planned_start", "planned_end"} & set(fields):
                expected.append((f"{n}-duration", "duration", entry["reason"], stamp))
        assert [
            (m["id"], m["type"], m["rationale"],
             datetime.fromisoformat(m["date"]).astimezone().isoformat())
            for m in construction["modifications"]
        ] == expected  # fmt: skip
    road = next(c["summary"] for c in projects[f"{prefix}-{city.ROAD.code}"]
                ["contractingProcesses"] if c["id"] == "construction")  # fmt: skip
    first, second, third = road["modifications"]
    krw = "KRW"
    assert first["allimi"] == {
        "oldBudget": {"amount": 1_000_000_000, "currency": krw},
        "newBudget": {"amount": 1_200_000_000, "currency": krw},
    }
    assert (second["oldContractPeriod"], second["newContractPeriod"]) == (
        {"endDate": "2027-03-31T00:00:00Z"},
        {"endDate": "2027-06-30T00:00:00Z"},
    )
    assert (third["oldContractValue"], third["newContractValue"]) == (
        {"amount": 900_000_000, "currency": krw},
        {"amount": 1_000_000_000, "currency": krw},
    )
    # the contract as first known; the changes since are the modifications
    assert road["contractValue"] == {"amount": 900_000_000, "currency": krw}
    assert road["contractPeriod"] == {"startDate": "2026-01-05T00:00:00Z",
                                      "endDate": "2027-03-31T00:00:00Z"}  # fmt: skip


# ---- one project, caching, bad input -----------------------------------------------------------
def test_one_project_is_a_package_of_its_own(portal: Portal, package: dict) -> None:
    code = city.ROAD.code
    response = portal.server.http.get(f"/api/projects/{code}/oc4ids.json")
    assert response.status_code == 200
    single = json.loads(response.text, parse_float=Decimal)
    assert validation_errors(single) == []
    assert single["uri"] == f"{PUBLIC}/api/projects/{code}/oc4ids.json"
    assert single["projects"] == [by_id(package)[f"{oc4ids_settings().prefix}-{code}"]]


@pytest.mark.parametrize("code", ["NO-SUCH-1", city.HIDDEN.code])
def test_an_unknown_or_unpublished_project_is_a_404_naming_code(portal: Portal, code: str) -> None:
    assert problem(portal.server.http.get(f"/api/projects/{code}/oc4ids.json"), 404) == ["code"]


def test_the_package_is_not_sent_again_while_the_data_is_the_same(portal: Portal) -> None:
    first = portal.server.http.get(EXPORT)
    again = portal.server.http.get(EXPORT, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert problem(portal.server.http.get(EXPORT, params={"limit": "5"}), 400) == ["limit"]


def test_the_prefix_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLIMI_OC4IDS_PREFIX", "oc4ids-abc123")
    assert OC4IDSSettings().prefix == "oc4ids-abc123"
    monkeypatch.setenv("ALLIMI_OC4IDS_PREFIX", "ocds-abc123")  # not an OC4IDS prefix
    with pytest.raises(ValidationError):
        OC4IDSSettings()


# ---- a city of sample projects, streamed -------------------------------------------------------
SAMPLE_PROJECTS = 6000


@pytest.fixture(scope="module")
def sample_city(settings: Settings) -> Iterator[Portal]:
    url = hand_made_city(settings, "allimi_test_oc4ids_stream")
    load_sample(url, SampleSpec(projects=SAMPLE_PROJECTS, seed=5, as_of=date(2026, 9, 1)),
                replace=True)  # fmt: skip
    engine = engine_for(url)
    for running in serve(Settings(database_url=url, rate_per_s=10_000, rate_burst=10_000)):
        yield Portal(running, engine)
    engine.dispose()
    drop_database(url)


def test_the_package_is_streamed_in_bounded_memory(sample_city: Portal) -> None:
    """The first bytes arrive while the server's cursor is still open (it has not read the last
    project), and the portal's memory peaks far below the package's size."""
    http, engine = sample_city.server.http, sample_city.engine
    tracemalloc.start()
    try:
        size = 0
        with http.stream("GET", EXPORT) as response:
            assert response.status_code == 200
            chunks = response.iter_bytes()
            size += len(next(chunks))
            reading = rows(
                engine,
                "SELECT state, query FROM pg_stat_activity "
                "WHERE application_name = 'allimi-api' AND query LIKE 'FETCH FORWARD%'",
            )
            # fetching the next chunk, or waiting for this client to take the last one
            assert [r["state"] in ("active", "idle in transaction") for r in reading] == [True]
            for chunk in chunks:
                size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    projects = SAMPLE_PROJECTS + len(city.PUBLISHED)
    assert size > 1000 * projects  # a kilobyte and more a project
    assert peak < size / 5, (peak, size)
