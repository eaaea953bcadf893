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
from sqlalchemy import Engine

from geo.imports import ImportRefused
from geo.imports.mapping import Mapping
from geo.imports.oc4ids import default_mapping
from geo.imports.source import SNIFF_BYTES, open_source
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


def in_seoul(project: dict[str, Any], *, latitude_first: bool) -> dict[str, Any]:
    """``project`` with its locations moved to ``PLACES`` and its budget in won."""
    moved = copy.deepcopy(project)
    for location, (lon, lat) in zip(moved["locations"], PLACES, strict=False):
        location["geometry"]["coordinates"] = [lat, lon] if latitude_first else [lon, lat]
    moved["budget"]["amount"] = {"amount": 4_000_000_000, "currency": "KRW"}
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
    assert log_actions(db) == ["create", "import"]


def test_package_rows_outside_the_vocabularies_are_rejected(db: Engine, tmp_path: Path) -> None:
    good = in_seoul(example_project(), latitude_first=False)
    nowhere = {**copy.deepcopy(good), "id": "no-location", "locations": []}
    foreign = {
        **copy.deepcopy(good),
        "id": "foreign",
        "status": "decommissioned",  # OC4IDS's, not Allimi's
        "sector": ["waterAndWaste"],  # water and sewer both
    }
    pounds = copy.deepcopy(good)
    pounds["id"], pounds["budget"]["amount"]["currency"] = "pounds", "GBP"
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
