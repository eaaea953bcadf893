"""Bulk imports on a scratch copy of the test city, from files the tests make: each format, CRS
and encodings, the mapping, one bad row refusing the whole file, re-imports, zip bombs."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
import yaml
from sqlalchemy import Engine, text

from geo.changelog import verify_stored
from geo.imports import ImportRefused
from geo.imports.load import Options, import_file
from geo.imports.mapping import Mapping, parse_mapping, read_mapping, suggest
from geo.imports.report import Report
from geo.project_writes import Actor, WriteError, update_project, version_of
from geo.settings import Settings
from geo.transaction import run
from tests.conftest import TEST_DB, seoul_agencies
from tests.test_city_init import allimi

# Places inside Seoul's Jung-gu and Jongno-gu (longitude, latitude)
PLACES = [(126.97797, 37.56654), (126.98100, 37.56800), (126.99000, 37.57000)]
AGENCY = "TEST-ROADS"
OFFICIAL = Actor(1, "official", agency=AGENCY)
MAPPING = {
    "key": "사업번호",
    "fields": {
        "title": "사업명",
        "budget": {"column": "예산_천원", "scale": 1000},
        "status": {"column": "단계", "values": {"착공": "implementation", "계획": "preparation"}},
        "planned_start": {"column": "시작", "date_format": "%Y.%m.%d"},
        "planned_end": {"column": "종료", "date_format": "%Y.%m.%d"},
        "category": {"value": "road"},
        "project_type": {"value": "rehabilitation"},
    },
}


def records(n: int = 3, **changes: Any) -> list[dict[str, Any]]:
    """A capital-project list of its own field names: budgets in thousands of won, dates as
    text with dots, stages in Korean."""
    return [
        {
            "사업번호": f"R-{i + 1:03d}",
            "사업명": f"보도 정비 {i + 1}공구",
            "예산_천원": str(100_000 * (i + 1)),
            "단계": "착공" if i % 2 == 0 else "계획",
            "시작": "2027.03.01",
            "종료": "2027.12.31",
            **changes,
        }
        for i in range(n)
    ]


@pytest.fixture()
def db(settings: Settings) -> Iterator[Engine]:
    """The Seoul test city with its agencies and no projects, anew for each test."""
    yield from seoul_agencies(settings, f"{TEST_DB}_imports")


def imported(db: Engine, path: Path, mapping: dict[str, Any] | Mapping = MAPPING,
             **options: Any) -> Report:  # fmt: skip
    chosen = mapping if isinstance(mapping, Mapping) else parse_mapping(mapping)
    with db.begin() as conn:
        return import_file(conn, path, chosen, Options(agency=AGENCY, **options))


SHOWN = (
    "code, title, budget, status, planned_start, published, "
    "ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat"
)


def stored(db: Engine, columns: str = SHOWN) -> dict[str, dict[str, Any]]:
    """The imported projects by source key, with ``columns`` (SQL of this module's)."""
    with db.connect() as conn:
        rows = conn.execute(
            text(f"SELECT source_key, {columns} FROM projects WHERE source_key IS NOT NULL")
        ).mappings()
        return {r["source_key"]: dict(r) for r in rows}


def log_actions(db: Engine) -> list[str]:
    with db.connect() as conn:
        assert verify_stored(conn) is None
        return list(conn.execute(text("SELECT action FROM changes ORDER BY seq")).scalars())


def frame(rows: list[dict[str, Any]], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    points = [shapely.Point(*PLACES[i % len(PLACES)]) for i in range(len(rows))]
    out = gpd.GeoDataFrame(rows, geometry=points, crs="EPSG:4326")
    return out.to_crs(crs)


def test_a_geopackage_loads_with_a_mapping_alone(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "capital.gpkg"
    frame(records()).to_file(path, layer="projects", driver="GPKG")
    report = imported(db, path)
    assert (report.rows, report.new, report.rejected, report.applied) == (3, 3, [], True)
    found = stored(db)
    assert found["R-002"]["budget"] == Decimal("200000000.00")  # thousands of won
    assert found["R-002"]["status"] == "preparation"
    assert str(found["R-001"]["planned_start"]) == "2027-03-01"
    assert abs(found["R-001"]["lon"] - PLACES[0][0]) < 1e-9
    assert log_actions(db) == ["create", "create", "create", "import"]
    with db.connect() as conn:  # each in the district that holds it
        placed = conn.execute(
            text(
                "SELECT p.source_key, p.district_code, d.code FROM projects p "
                "JOIN districts d ON d.level = 1 AND ST_Covers(d.geom, p.geom) ORDER BY 1"
            )
        ).all()
    assert [(key, stored_code) for key, stored_code, _ in placed] == [
        ("R-001", "11140"), ("R-002", "11140"), ("R-003", "11110"),
    ]  # fmt: skip
    assert all(stored_code == covering for _, stored_code, covering in placed)


def test_a_shapefile_in_epsg_5186_lands_within_a_metre(db: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "shape"
    folder.mkdir()
    # a Shapefile's field names are at most 10 bytes: an agency's GIS layer names them so
    ascii = {"사업번호": "proj_no", "사업명": "name", "예산_천원": "budget_k", "단계": "stage",
             "시작": "start", "종료": "end"}  # fmt: skip
    rows = [{ascii[k]: v for k, v in r.items()} for r in records(1)]
    frame(rows, "EPSG:5186").to_file(folder / "works.shp", encoding="utf-8")
    path = tmp_path / "works.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    mapping = json.loads(json.dumps(MAPPING))
    mapping["key"] = "proj_no"
    for spec in mapping["fields"].values():
        if isinstance(spec, dict) and "column" in spec:
            spec["column"] = ascii[spec["column"]]
    mapping["fields"]["title"] = "name"
    report = imported(db, path, mapping)
    assert report.rejected == []
    with db.connect() as conn:
        metres = conn.execute(
            text(
                "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
                "::geography) FROM projects WHERE source_key = 'R-001'"
            ),
            {"x": PLACES[0][0], "y": PLACES[0][1]},
        ).scalar_one()
    assert metres < 1.0


def test_a_cp949_csv_keeps_its_korean_text(db: Engine, tmp_path: Path) -> None:
    rows = [
        {**r, "경도": str(x), "위도": str(y)} for r, (x, y) in zip(records(), PLACES, strict=True)
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "list.csv"
    path.write_bytes(buffer.getvalue().encode("cp949"))
    report = imported(db, path, {**MAPPING, "geometry": {"lon": "경도", "lat": "위도"}})
    assert (report.new, report.rejected) == (3, [])
    assert stored(db)["R-003"]["title"] == "보도 정비 3공구"


def test_one_bad_row_imports_nothing_and_is_reported(db: Engine, tmp_path: Path) -> None:
    rows = records(3)
    rows[1]["시작"] = "2027-03-01"  # not the declared format
    rows[2]["단계"] = "중단"  # not in the value map
    path = tmp_path / "bad.geojson"
    frame(rows).to_file(path, driver="GeoJSON")
    report = imported(db, path)
    assert (report.new, report.applied) == (1, False)
    assert [(r, f) for r, f, _ in report.rejected] == [(2, "planned_start"), (3, "status")]
    assert "%Y.%m.%d" in report.rejected[0][2]
    assert stored(db) == {}
    assert log_actions(db) == []


def test_a_point_outside_the_city_is_rejected_with_its_reason(db: Engine, tmp_path: Path) -> None:
    out = frame(records(2))
    out.loc[1, "geometry"] = shapely.Point(129.0756, 35.1796)  # Busan
    path = tmp_path / "far.geojson"
    out.to_file(path, driver="GeoJSON")
    report = imported(db, path)
    assert [(r, f) for r, f, _ in report.rejected] == [(2, "geometry")]
    assert "outside the city" in report.rejected[0][2]


def test_reimport_is_a_no_op_and_an_edit_changes_exactly_its_project(
    db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "list.geojson"
    frame(records()).to_file(path, driver="GeoJSON")
    imported(db, path)
    first = stored(db)
    again = imported(db, path)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 3)
    assert stored(db) == first
    assert log_actions(db) == ["create"] * 3 + ["import"]
    edited = records()
    edited[1]["예산_천원"] = "250000"
    frame(edited).to_file(path, driver="GeoJSON")
    dry = imported(db, path, dry_run=True)
    assert (dry.changed, dry.changes, dry.applied) == (
        1,
        [{"row": 2, "code": first["R-002"]["code"], "fields": ["budget"]}],
        False,
    )
    assert stored(db) == first
    done = imported(db, path)
    assert (done.new, done.changed, done.unchanged) == (0, 1, 2)
    now = stored(db)
    assert now["R-002"]["budget"] == Decimal("250000000.00")
    assert {k: v for k, v in now.items() if k != "R-002"} == {
        k: v for k, v in first.items() if k != "R-002"
    }
    assert log_actions(db) == ["create"] * 3 + ["import", "edit", "import"]


def test_swapped_coordinates_are_reported_and_fixed_on_request(db: Engine, tmp_path: Path) -> None:
    out = frame(records(1))
    out["geometry"] = [shapely.Point(PLACES[0][1], PLACES[0][0])]  # latitude first
    path = tmp_path / "swapped.geojson"
    out.to_file(path, driver="GeoJSON")
    report = imported(db, path)
    assert [(r, f) for r, f, _ in report.rejected] == [(1, "geometry")]
    assert "swapped" in report.rejected[0][2]
    fixed = imported(db, path, swap_axes=True)
    assert (fixed.new, fixed.rejected) == (1, [])
    assert abs(stored(db)["R-001"]["lat"] - PLACES[0][1]) < 1e-9


def test_a_mapping_to_unknown_fields_or_columns_is_refused(db: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportRefused) as unknown:
        parse_mapping({"fields": {"titel": "사업명"}})
    assert unknown.value.status == 422
    assert unknown.value.errors[0][0] == "fields"
    assert "titel" in unknown.value.errors[0][1]
    path = tmp_path / "list.geojson"
    frame(records()).to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRefused) as missing:
        imported(db, path, {**MAPPING, "key": "번호"})
    assert (missing.value.status, missing.value.errors[0]) == (
        422,
        ("번호", "no such column in the file"),
    )
    assert stored(db) == {}


def test_a_zip_bomb_is_refused_before_it_is_unpacked(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("works.shp", b"\0" * (64 << 20))
        archive.writestr("works.dbf", b"\0" * 1024)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ImportRefused) as refused:
        imported(db, path)
    assert refused.value.status == 413
    assert stored(db) == {}


def test_a_mapping_file_and_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(
        "key: 사업번호\nfields:\n  title: 사업명\n  budget: {column: 예산_천원, scale: 1000}\n",
        encoding="utf-8",
    )
    assert read_mapping(path).fields["budget"].scale == 1000
    rows = records()
    samples = {c: [r[c] for r in rows] for c in rows[0]}
    suggested = suggest(list(rows[0]), samples, has_geometry=True)
    assert (suggested["key"], suggested["fields"]["title"]) == ("사업번호", "사업명")
    assert suggested["fields"]["budget"] == {"column": "예산_천원", "scale": 1000}
    assert suggested["fields"]["planned_end"] == {"column": "종료", "date_format": "%Y.%m.%d"}
    assert suggested["fields"]["planned_start"] == {"column": "시작", "date_format": "%Y.%m.%d"}
    assert suggested["fields"]["status"] == {"column": "단계", "values": {"착공": "?", "계획": "?"}}


def test_the_command_suggests_a_mapping_and_imports_with_it(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "list.gpkg"
    frame(records()).to_file(path, driver="GPKG")
    url = db.url.render_as_string(hide_password=False)
    suggested = allimi(url, "import", str(path), "--suggest-mapping")
    assert suggested.returncode == 0, suggested.stderr
    mapping = yaml.safe_load(suggested.stdout)
    assert (mapping["key"], mapping["fields"]["title"]) == ("사업번호", "사업명")
    mapping["fields"].update(MAPPING["fields"])  # the official completes it
    written = tmp_path / "mapping.yaml"
    written.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    dry = allimi(url, "import", str(path), "--mapping", str(written), "--agency", AGENCY,
                 "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "list.gpkg: 3 rows: 3 new, 0 changed, 0 unchanged, 0 rejected." in dry.stderr
    assert "A dry run: nothing was changed." in dry.stderr
    assert stored(db) == {}
    done = allimi(url, "import", str(path), "--mapping", str(written), "--agency", "NOPE")
    assert done.returncode == 1
    assert "row 1: agency: there is no agency 'NOPE'" in done.stderr
    assert "Nothing was imported" in done.stderr
    assert stored(db) == {}


def test_rows_without_geometry_are_refused_or_kept_as_drafts_to_draw(
    db: Engine, tmp_path: Path
) -> None:
    out = frame(records(2))
    out.loc[1, "geometry"] = None
    path = tmp_path / "unplaced.geojson"
    out.to_file(path, driver="GeoJSON")
    refused = imported(db, path)
    assert refused.rejected == [(2, "geometry", "The row has no geometry.")]
    kept = imported(db, path, unmapped_drafts=True)
    assert (kept.new, kept.unplaced, kept.rejected, kept.applied) == (2, 1, [], True)
    found = stored(db, "code, published, geom IS NULL AS unplaced")
    assert [(found[k]["published"], found[k]["unplaced"]) for k in ("R-001", "R-002")] == [
        (True, False),
        (False, True),
    ]
    assert log_actions(db) == ["create", "import"]  # a draft is not public yet
    draft = found["R-002"]["code"]
    with db.begin() as conn:
        version = version_of(*conn.execute(
            text("SELECT id, updated_at FROM projects WHERE code = :c"), {"c": draft}
        ).one())  # fmt: skip
    with pytest.raises(WriteError) as unplaced, db.begin() as conn:
        run(conn, update_project(OFFICIAL, draft, {"published": True}, reason=None,
                                 if_version=version))  # fmt: skip
    assert unplaced.value.errors == [
        ("geometry", "a project is published with its place: draw it first")
    ]
    placed = {"published": True, "geometry": {"type": "Point", "coordinates": list(PLACES[1])}}
    with db.begin() as conn:
        run(conn, update_project(OFFICIAL, draft, placed, reason=None, if_version=version))
    assert stored(db, "published")["R-002"]["published"] is True


def test_an_import_does_not_take_a_public_project_back_to_draft(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "list.geojson"
    frame(records(1)).to_file(path, driver="GeoJSON")
    imported(db, path)
    drafts = {**MAPPING, "fields": {**MAPPING["fields"], "published": {"value": False}}}
    report = imported(db, path, drafts)
    code = stored(db)["R-001"]["code"]
    assert report.rejected == [
        (1, "published", f"its project {code} is public; it is withdrawn, not made a draft")
    ]
    assert stored(db)["R-001"]["published"] is True


def test_each_geometry_check_gives_its_row_its_reason(db: Engine, tmp_path: Path) -> None:
    x, y = PLACES[0]
    shapes = [
        f"POINT({x} {y})",
        "POINT EMPTY",
        f"GEOMETRYCOLLECTION(POINT({x} {y}))",
        f"LINESTRING({x} {y}, {x} {y})",
        f"POLYGON(({x} {y}, {x + 0.001} {y + 0.001}, {x + 0.001} {y}, {x} {y + 0.001}, {x} {y}))",
        f"LINESTRING({x - 0.3} {y}, {x + 0.3} {y})",  # 53 km across the city
        "POINT(126.97 37.56",  # no WKT
    ]
    rows = [{**r, "wkt": w} for r, w in zip(records(len(shapes)), shapes, strict=True)]
    path = tmp_path / "shapes.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = imported(db, path, {**MAPPING, "geometry": {"wkt": "wkt"}})
    assert report.rejected == [
        (2, "geometry", "The geometry is empty: it has no coordinates."),
        (3, "geometry", "A project's geometry cannot be a GEOMETRYCOLLECTION; give one of "
                        "POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING, MULTIPOLYGON."),
        (4, "geometry", "The line has zero length: all its points are at one place."),
        (5, "geometry", "The geometry is not valid: Self-intersection at lon 126.978470, "
                        "lat 37.567040; correct it in the file."),
        (6, "geometry", "The line is 53.0 km long; a project's line may be at most 50 km."),
        (7, "geometry", "The row has no geometry."),
        (7, "wkt", "it is no WKT geometry"),
    ]  # fmt: skip
    assert (report.new, stored(db)) == (1, {})


def test_a_crs_postgis_does_not_know_is_refused_naming_it(db: Engine, tmp_path: Path) -> None:
    rows = [{**r, "x": "1", "y": "2"} for r in records(1)]
    table = tmp_path / "list.csv"
    with table.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportRefused) as unknown:
        imported(db, table, {**MAPPING, "geometry": {"lon": "x", "lat": "y"}}, crs="EPSG:999999")
    assert (unknown.value.status, unknown.value.errors[0][0]) == (422, "crs")
    assert "'EPSG:999999' is unknown" in unknown.value.reason
    assert stored(db) == {}


def test_an_import_rechecks_the_conflicts_of_what_it_made(db: Engine, tmp_path: Path) -> None:
    """A fourth row laid where the first is, at the same time: the import finds the clash."""
    path = tmp_path / "four.gpkg"
    frame(records(4)).to_file(path, layer="projects", driver="GPKG")
    assert imported(db, path).applied
    with db.connect() as conn:
        pairs = conn.execute(
            text(
                "SELECT c.kind, a.source_key, b.source_key FROM conflicts c "
                "JOIN projects a ON a.id = c.a_id JOIN projects b ON b.id = c.b_id"
            )
        ).all()
    assert [tuple(p) for p in pairs] == [("clash", "R-001", "R-004")]
