"""Imports of KML and of OC4IDS project packages on a scratch copy of the test city, from files
the tests make: KML from both of GDAL's drivers (LIBKML writes an altitude on every point) and
with folders, packages built from the standard's worked example placed in Seoul, and the shipped
example itself read as a table."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, text

from geo.imports import ImportRefused
from geo.imports.history import REWRITE
from geo.imports.identity import OWN_PROJECT
from geo.imports.mapping import Mapping
from geo.imports.oc4ids import default_mapping
from geo.imports.source import SNIFF_BYTES, open_source
from geo.oc4ids import oc4ids_settings
from geo.settings import DATA_DIR, Settings
from geo.vocab import CATEGORIES
from tests.conftest import TEST_DB, seoul_agencies
from tests.test_imports import AGENCY, MAPPING, PLACES, frame, imported, log_actions, records
from tests.test_imports import stored as imported_projects

EXAMPLE = DATA_DIR / "oc4ids" / "example.json"
KML_MAPPING = {**MAPPING, "fields": {**MAPPING["fields"], "title": "Name"}}
MAX_BYTES = 1 << 30


@pytest.fixture()
def db(settings: Settings) -> Iterator[Engine]:
    """The Seoul test city with its agencies and no projects, anew for each test."""
    yield from seoul_agencies(settings, f"{TEST_DB}_import_formats")


def stored(db: Engine) -> dict[str, dict[str, Any]]:
    """The imported projects by source key, with the fields an OC4IDS package gives."""
    return imported_projects(
        db,
        "agency_code, title, description, category, project_type, status, budget, "
        "planned_start, planned_end, ST_X(geom) AS lon, ST_Y(geom) AS lat",
    )


def kml_rows(n: int) -> list[dict[str, Any]]:
    """``records`` with the title as KML's own ``Name``."""
    return [{"Name": r.pop("사업명"), **r} for r in records(n)]


@pytest.mark.parametrize("driver", ["KML", "LIBKML"])
def test_kml_loads_with_a_mapping(db: Engine, tmp_path: Path, driver: str) -> None:
    path = tmp_path / "works.kml"
    frame(kml_rows(3)).to_file(path, driver=driver)
    assert bool(shapely.has_z(gpd.read_file(path).geometry).all()) == (driver == "LIBKML")
    report = imported(db, path, KML_MAPPING)
    assert (report.rows, report.new, report.rejected, report.applied) == (3, 3, [], True)
    found = stored(db)
    assert found["R-002"]["title"] == "보도 정비 2공구"
    assert found["R-002"]["budget"] == Decimal("200000000.00")
    assert [found[f"R-00{i}"]["status"] for i in (1, 2, 3)] == [
        "implementation",
        "preparation",
        "implementation",
    ]
    for i, (lon, lat) in enumerate(PLACES, 1):
        assert abs(found[f"R-00{i}"]["lon"] - lon) < 1e-9
        assert abs(found[f"R-00{i}"]["lat"] - lat) < 1e-9
    assert log_actions(db) == ["create"] * 3 + ["import"]


def test_a_kml_with_folders_imports_the_chosen_one(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "folders.kml"
    first, second = kml_rows(2)
    frame([first]).to_file(path, driver="KML", layer="jung_gu")
    frame([second]).to_file(path, driver="KML", layer="jongno_gu", mode="a")
    with pytest.raises(ImportRefused) as refused:
        imported(db, path, KML_MAPPING)
    assert (refused.value.status, refused.value.reason) == (
        422,
        "Choose one of the KML file's layers: jung_gu, jongno_gu.",
    )
    report = imported(db, path, KML_MAPPING, layer="jongno_gu")
    assert (report.rows, report.new, report.rejected) == (1, 1, [])
    assert list(stored(db)) == ["R-002"]


def example_project() -> dict[str, Any]:
    project: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["projects"][0]
    return project


def in_currency(value: Any, currency: str) -> None:
    """Every amount of ``value`` (the example's are in pounds) said to be in ``currency``."""
    if isinstance(value, dict):
        if "currency" in value:
            value["currency"] = currency
        for inner in value.values():
            in_currency(inner, currency)
    elif isinstance(value, list):
        for inner in value:
            in_currency(inner, currency)


def in_seoul(
    project: dict[str, Any], *, latitude_first: bool, currency: str = "KRW"
) -> dict[str, Any]:
    """``project`` with its locations moved to ``PLACES`` and its money in won (or
    ``currency``)."""
    moved = copy.deepcopy(project)
    for location, (lon, lat) in zip(moved["locations"], PLACES, strict=False):
        location["geometry"]["coordinates"] = [lat, lon] if latitude_first else [lon, lat]
    in_currency(moved, currency)
    moved["budget"]["amount"]["amount"] = 4_000_000_000
    return moved


def write_package(path: Path, projects: list[dict[str, Any]]) -> Path:
    """A package with the example's metadata and ``projects``."""
    package = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**package, "projects": projects}), encoding="utf-8")
    return path


def test_an_oc4ids_package_written_latitude_first_is_reported_then_swapped(
    db: Engine, tmp_path: Path
) -> None:
    """The example's points are latitude first; placed in Seoul so, they are no place on Earth
    and the import says why, until asked to swap them."""
    project = in_seoul(example_project(), latitude_first=True)
    path = write_package(tmp_path / "package.json", [project])
    report = imported(db, path, Mapping())
    assert (report.rows, report.new, report.applied) == (1, 0, False)
    assert report.rejected == [
        (
            1,
            "geometry",
            "The geometry is no position on Earth in its CRS (EPSG:4326); "
            "are longitude and latitude swapped?",
        )
    ]
    assert stored(db) == {}
    fixed = imported(db, path, Mapping(), swap_axes=True)
    assert (fixed.rows, fixed.new, fixed.rejected, fixed.applied) == (1, 1, [], True)
    found = stored(db)[project["id"]]
    lon, lat = found.pop("lon"), found.pop("lat")
    assert abs(lon - PLACES[0][0]) < 1e-9
    assert abs(lat - PLACES[0][1]) < 1e-9
    assert found == {
        "source_key": "oc4ids-bu3kcz-m75-junctions-4-to-5-smart-motorway",
        "agency_code": AGENCY,
        "title": "M75 Junctions 4 to 5 upgrade smart motorway",
        "description": project["description"],
        "category": "road",  # from the sectors transport, transport.road
        "project_type": "expansion",
        "status": "maintenance",
        "budget": Decimal("4000000000.00"),
        "planned_start": date(2016, 1, 1),
        "planned_end": date(2018, 12, 10),
    }
    # made, its construction contract's two changes, and the planned dates as the package
    # gives them (the contract's period is not the project's)
    assert log_actions(db) == ["create", "edit", "edit", "edit", "import"]


def test_package_rows_outside_the_vocabularies_are_rejected(db: Engine, tmp_path: Path) -> None:
    good = in_seoul(example_project(), latitude_first=False)
    nowhere = {**copy.deepcopy(good), "id": "no-location", "locations": []}
    foreign = {
        **copy.deepcopy(good),
        "id": "foreign",
        "status": "decommissioned",  # OC4IDS's, not Allimi's
        "sector": ["waterAndWaste"],  # water and sewer both
    }
    pounds = {**in_seoul(example_project(), latitude_first=False, currency="GBP"), "id": "pounds"}
    path = write_package(tmp_path / "package.json", [good, nowhere, foreign, pounds])
    report = imported(db, path, Mapping())
    assert (report.rows, report.new, report.applied) == (4, 1, False)
    assert report.rejected == [
        (2, "geometry", "The row has no geometry."),
        (
            3,
            "category",
            "'waterAndWaste' is not in the mapping's values (communications, "
            "cultureSportsAndRecreation, education, governance, "
            "naturalResources.floodProtection, socialHousing, transport.rail, transport.road, "
            "transport.urban)",
        ),
        (
            3,
            "status",
            "Input should be 'identification', 'preparation', 'implementation', 'suspended', "
            "'completion', 'maintenance' or 'cancelled'",
        ),
        (4, "budget", "it is in GBP, not the city's currency KRW"),
    ]
    assert stored(db) == {}
    assert log_actions(db) == []


def test_a_package_brings_its_parties_progress_documents_and_history(
    db: Engine, tmp_path: Path
) -> None:
    """The example's lists: its contractor and supervisor, the public authority's contact,
    the construction contract's value now, a progress report per actual observation (planned
    as the forecast then stood), its documents with a URL, and its contract's changes in the
    log with their reasons and dates."""
    project = in_seoul(example_project(), latitude_first=False)
    report = imported(db, write_package(tmp_path / "package.json", [project]), Mapping())
    assert (report.new, report.rejected) == (1, [])
    found = imported_projects(
        db, "contractor, supervisor, officer_name, officer_phone, contract_value, address, "
        "progress_actual, progress_planned, spent, actual_start, actual_end",
    )[project["id"]]  # fmt: skip
    assert found == {
        "source_key": project["id"],
        "contractor": "Concrete Motorways Construction",
        "supervisor": "Expert Motorway Supervisors",
        "officer_name": "Motorways Manager",
        "officer_phone": "+44 0123 456 7890",
        "contract_value": Decimal("35250000.00"),  # 29,000,000 as first known, then changed
        "address": "Patcham Interchange, New Road",
        "progress_actual": Decimal("100.00"),
        "progress_planned": Decimal("100.00"),
        "spent": Decimal("0.00"),
        "actual_start": date(2017, 1, 1),
        "actual_end": date(2018, 12, 10),
    }
    with db.connect() as conn:
        reports = conn.execute(
            text("SELECT reported_on, actual, planned, state FROM progress_reports ORDER BY 1")
        ).all()
        documents = conn.execute(text("SELECT document_type FROM documents ORDER BY id")).all()
        edits = conn.execute(
            text("SELECT content::jsonb FROM changes WHERE action = 'edit' ORDER BY seq")
        ).scalars().all()  # fmt: skip
    assert [tuple(r) for r in reports] == [
        (date(2018, 1, 7), 50, 50, "approved"),
        (date(2018, 8, 7), 75, 100, "approved"),  # the forecast of 2018-07-01
        (date(2018, 12, 1), 100, 100, "approved"),
    ]
    assert [d for (d,) in documents] == [
        "procurementPlan",
        "environmentalImpact",
        "budgetApproval",
    ]  # the fourth has no URL
    modifications = project["contractingProcesses"][0]["summary"]["modifications"]
    assert [(e["reason"], e["fields"].get("recorded_at")) for e in edits] == [
        (modifications[0]["rationale"], [None, modifications[0]["date"]]),
        (modifications[2]["rationale"], [None, modifications[2]["date"]]),
        ("import of package.json (sha256 " + report.sha256[:12] + ")", None),
    ]  # the scope change changes no field
    assert edits[0]["fields"]["planned_end"] == ["2018-07-01", "2018-12-01"]
    assert edits[1]["fields"]["contract_value"] == ["29000000", "35250000"]
    assert edits[2]["fields"] == {"planned_end": ["2018-12-01", "2018-12-10"]}


def test_a_package_adds_reports_and_documents_but_never_rewrites_one(
    db: Engine, tmp_path: Path
) -> None:
    project = in_seoul(example_project(), latitude_first=False)
    imported(db, write_package(tmp_path / "package.json", [project]), Mapping())
    later = copy.deepcopy(project)
    (physical,) = later["metrics"]
    physical["observations"].append(
        {"id": "4", "measure": "100", "period": {"endDate": "2019-01-31T00:00:00Z"}}
    )
    later["documents"].append(
        {
            "id": "photo",
            "documentType": "illustration",
            "title": "Opening day",
            "url": "https://example.com/open.jpg",
        }
    )
    report = imported(db, write_package(tmp_path / "later.json", [later]), Mapping())
    assert (report.new, report.changed, report.rejected) == (0, 1, [])
    assert report.changes[0]["fields"] == ["reports", "documents"]
    with db.connect() as conn:
        (gained,) = conn.execute(
            text(
                "SELECT content::jsonb -> 'fields' FROM changes WHERE action = 'edit' "
                "ORDER BY seq DESC LIMIT 1"
            )
        ).scalars()
    assert gained == {"reports": [None, ["2019-01-31"]],
                      "documents": [None, ["https://example.com/open.jpg"]]}  # fmt: skip
    rewritten = copy.deepcopy(later)
    rewritten["metrics"][0]["observations"][0]["measure"] = "55"
    refused = imported(db, write_package(tmp_path / "rewritten.json", [rewritten]), Mapping())
    assert refused.rejected == [
        (1, "reports", f"the project's report of 2018-01-07 (approved) says otherwise; {REWRITE}")
    ]


def test_a_package_with_unreadable_lists_is_refused_by_row_and_place(
    db: Engine, tmp_path: Path
) -> None:
    project = in_seoul(example_project(), latitude_first=False)
    project["documents"][0]["documentType"] = "snapshot"
    project["metrics"][0]["observations"][0]["measure"] = "150"
    project["contractingProcesses"][0]["summary"]["contractValue"]["currency"] = "USD"
    project["allimi"] = {"sample": True}  # a demo's
    report = imported(db, write_package(tmp_path / "package.json", [project]), Mapping())
    assert report.rejected == [
        (1, "allimi.sample", "it is a synthetic sample project, not a real one"),
        (1, "contractingProcesses[construction].contractValue",
         "it is in USD, not KRW as the budget"),
        (1, "documents[1]", "'snapshot' is no documentType of OC4IDS"),
        (1, "metrics[physicalProgress]",
         "observation 1: Input should be less than or equal to 100"),
    ]  # fmt: skip
    assert stored(db) == {}


def test_a_package_of_the_wrong_shape_is_refused_by_row_and_place(
    db: Engine, tmp_path: Path
) -> None:
    """Lists and objects where the standard has none are read as far as they hold what it
    says, and what is wrong is named: nothing fails, nothing is stored."""
    project = in_seoul(example_project(), latitude_first=False)
    construction = project["contractingProcesses"][0]["summary"]
    project.update(parties=[{"id": ["x"]}, "p"], forecasts="x", allimi="s")
    construction["suppliers"] = "x"
    construction["modifications"] = [
        {"date": {"x": 1}, "oldContractPeriod": "x", "newContractPeriod": {"endDate": "soon"}},
        5,
        {"date": "2020-01-01T00:00:00Z", "rationale": 7, "newContractValue": {"amount": 1}},
        {"allimi": 3, "oldContractValue": {"amount": [1]}},
    ]
    project["metrics"] = [
        {"id": "physicalProgress", "observations": [{"period": "x", "measure": {}},
                                                    {"period": {"endDate": 5}, "measure": 5}]},
        3,
    ]  # fmt: skip
    project["documents"] = [{"url": 5}, {"url": "https://x.test", "documentType": ["a"]}]
    report = imported(db, write_package(tmp_path / "package.json", [project]), Mapping())
    assert report.rejected == [
        (1, "documents[2]", "['a'] is no documentType of OC4IDS"),
        (1, "metrics[physicalProgress]",
         "observation 1: Decimal input should be an integer, float, string or Decimal object"),
        (1, "metrics[physicalProgress]", "observation 2: no date"),
        (1, "modifications[1]", "its date or its contract periods' dates are no dates"),
        (1, "modifications[3]", "its rationale is no text"),
        (1, "modifications[4]",
         "Decimal input should be an integer, float, string or Decimal object"),
    ]  # fmt: skip
    assert stored(db) == {}


def test_a_project_of_this_portals_own_id_keeps_its_code(db: Engine, tmp_path: Path) -> None:
    """A project exported by this portal (or the one it replaces) keeps its code, and others
    are numbered after it; one id twice is refused."""
    foreign = in_seoul(example_project(), latitude_first=False)  # planned from 2016
    own = {**copy.deepcopy(foreign), "id": f"{oc4ids_settings().prefix}-SEOUL-2016-000007"}
    report = imported(db, write_package(tmp_path / "package.json", [foreign, own]), Mapping())
    assert (report.new, report.rejected) == (2, [])
    codes = {key: row["code"] for key, row in imported_projects(db, "code").items()}
    assert codes == {foreign["id"]: "SEOUL-2016-000008", own["id"]: "SEOUL-2016-000007"}
    taken = {**own, "id": f"{oc4ids_settings().prefix}-SEOUL-2016-000008"}  # the foreign one's
    again = imported(db, write_package(tmp_path / "again.json", [own, taken, taken]), Mapping())
    assert again.rejected == [
        (2, "id", OWN_PROJECT.format(code="SEOUL-2016-000008")),
        (3, "id", OWN_PROJECT.format(code="SEOUL-2016-000008")),
        (3, "id", "the same id as row 2"),
        (3, "id", "the same key as row 2"),
    ]


def test_the_shipped_example_reads_as_a_table(tmp_path: Path) -> None:
    source = open_source(EXAMPLE, tmp_path, max_bytes=MAX_BYTES)
    assert (source.kind, source.crs()) == ("OC4IDS", "EPSG:4326")
    assert source.columns() == [
        "id", "updated", "title", "description", "status",
        "period.startDate", "period.endDate", "period.durationInDays",
        "identificationPeriod.startDate", "identificationPeriod.endDate",
        "preparationPeriod.startDate", "preparationPeriod.endDate",
        "implementationPeriod.startDate", "implementationPeriod.endDate",
        "completionPeriod.startDate", "completionPeriod.endDate",
        "maintenancePeriod.startDate", "maintenancePeriod.endDate",
        "decommissioningPeriod.startDate", "decommissioningPeriod.endDate",
        "sector", "type", "purpose",
        "assetLifetime.startDate", "assetLifetime.endDate", "assetLifetime.durationInDays",
        "budget.description", "budget.amount.amount", "budget.amount.currency",
        "budget.requestDate", "budget.approvalDate",
        "publicAuthority.name", "publicAuthority.id",
        "completion.endDate", "completion.endDateDetails",
        "completion.finalValue.amount", "completion.finalValue.currency",
        "completion.finalValueDetails", "completion.finalScope", "completion.finalScopeDetails",
        "social.landCompensationBudget.amount", "social.landCompensationBudget.currency",
        "social.inIndigenousLand",
        "social.healthAndSafety.materialTests.tests",
        "social.healthAndSafety.materialTests.description",
        "environment.goals", "environment.climateOversightTypes",
        "environment.hasImpactAssessment",
        "environment.abatementCost.amount", "environment.abatementCost.currency",
        "environment.inProtectedArea",
        "policyAlignment.policies", "policyAlignment.description",
        # read from its lists
        "contractingProcesses[construction].supplier",
        "contractingProcesses[supervision].supplier",
        "parties[publicAuthority].contactPoint.name",
        "parties[publicAuthority].contactPoint.telephone",
        "locations[].address.streetAddress",
        "contractingProcesses[construction].contractValue",
        "metrics[physicalProgress]", "forecasts[physicalProgress]",
    ]  # fmt: skip
    (rows,) = list(source.rows())
    row = rows.iloc[0]
    assert {c: row[c] for c in default_mapping({}).columns()} == {
        "id": "oc4ids-bu3kcz-m75-junctions-4-to-5-smart-motorway",
        "title": "M75 Junctions 4 to 5 upgrade smart motorway",
        "description": "Upgrading the 5km stretch of the M75 near Birmingham Airport, between "
        "junction 4 near Patcham and junction 5 at Windlesham, to an all-lane running smart "
        "motorway.",
        "status": "maintenance",
        "type": "expansion",
        "sector": ["transport", "transport.road"],
        "budget.amount.amount": 40000000,
        "period.startDate": "2016-01-01T00:00:00Z",
        "period.endDate": "2018-12-10T00:00:00Z",
    }
    assert row["budget.amount.currency"] == "GBP"
    # the first location, as written: latitude first (in the UK, it would be off Somalia)
    assert row.geometry.equals_exact(shapely.Point(52.2571843, -0.1163333), tolerance=0)


def test_the_default_mapping_names_only_sectors_of_one_category() -> None:
    mapping = default_mapping({c.code: c.oc4ids for c in CATEGORIES.values()})
    assert mapping.key == "id"
    assert mapping.fields["category"].values == {
        "communications": "telecom",
        "cultureSportsAndRecreation": "park",
        "education": "school",
        "governance": "building",
        "naturalResources.floodProtection": "river",
        "socialHousing": "housing",
        "transport.rail": "rail",
        "transport.road": "road",
        "transport.urban": "transit",
    }  # waterAndWaste (water, sewer) and energy (gas, power) name two each


def test_json_is_told_by_its_own_keys_past_the_sniffed_head(tmp_path: Path) -> None:
    projects = [{**example_project(), "id": f"p-{i}"} for i in range(3)]
    path = write_package(tmp_path / "large.json", projects)
    assert path.stat().st_size > SNIFF_BYTES
    source = open_source(path, tmp_path, max_bytes=MAX_BYTES)
    assert source.kind == "OC4IDS"
    assert [list(rows["id"]) for rows in source.rows(2)] == [["p-0", "p-1"], ["p-2"]]
    # a GeoJSON feature whose properties hold a list of projects is still GeoJSON
    feature = {"type": "Feature", "properties": {"projects": []}, "geometry": None}
    collection = tmp_path / "collection.json"
    collection.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert open_source(collection, tmp_path, max_bytes=MAX_BYTES).kind == "GeoJSON"
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "Topology", "objects": {"projects": []}}))
    with pytest.raises(ImportRefused) as refused:
        open_source(other, tmp_path, max_bytes=MAX_BYTES)
    assert (refused.value.status, refused.value.reason) == (
        422,
        "The JSON file is neither a GeoJSON FeatureCollection nor an OC4IDS project package.",
    )
