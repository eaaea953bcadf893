"""Bulk downloads over real HTTP, read by the tools people open them with: pandas for the CSV,
pyogrio (GDAL) for the GeoPackage, a JSON parser for the GeoJSON; compared with the database."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text

from geo.downloads import COLUMNS, CSV_COLUMNS
from geo.jurisdiction import SEOUL, read_city
from tests.city import HIDDEN, LIBRARY, ROAD
from tests.conftest import VERSION_TTL, Server, problem

FILES = ("geojson", "csv", "gpkg")


def published(engine: Engine) -> dict[str, dict]:
    """Every published project by code: what the files must hold."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT code, title, budget, ST_AsText(geom) AS wkt, ST_X(ST_PointOnSurface(geom))"
                " AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat FROM projects WHERE published"
            )
        ).mappings()
        return {row["code"]: dict(row) for row in rows}


def url(extension: str) -> str:
    return f"/api/downloads/projects.{extension}"


def test_the_geojson_holds_every_published_project(server: Server, engine: Engine) -> None:
    response = server.http.get(url("geojson"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    expected = published(engine)
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection  # RFC 7946: longitude/latitude on WGS 84, EPSG:4326
    features = {f["id"]: f for f in collection["features"]}
    assert len(collection["features"]) == len(expected)
    assert set(features) == set(expected)
    assert HIDDEN.code not in features
    for code, feature in features.items():
        assert list(feature["properties"]) == [c.name for c in COLUMNS]
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.equals_exact(shapely.from_wkt(expected[code]["wkt"]), 1e-6)
    assert features[ROAD.code]["properties"]["title"] == ROAD.title


def test_the_csv_loads_with_pandas_with_exactly_the_documented_columns(
    server: Server, engine: Engine
) -> None:
    response = server.http.get(url("csv"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    frame = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", dtype=str)
    expected = published(engine)
    assert list(frame.columns) == [c.name for c in CSV_COLUMNS]
    assert len(frame) == len(expected)
    assert set(frame["code"]) == set(expected)
    for row in frame.to_dict("records"):
        project = expected[row["code"]]
        assert row["title"] == project["title"]
        assert float(row["budget"]) == project["budget"]
        assert shapely.from_wkt(row["wkt"]).equals_exact(shapely.from_wkt(project["wkt"]), 1e-6)
        assert float(row["lon"]) == pytest.approx(project["lon"], abs=1e-6)
        assert float(row["lat"]) == pytest.approx(project["lat"], abs=1e-6)
    library = frame.set_index("code").loc[LIBRARY.code]
    assert (library["status"], library["actual_end"]) == ("completion", LIBRARY.end)
    assert library["is_sample"] == "false"


def test_the_geopackage_opens_with_pyogrio_in_epsg_4326(
    server: Server, engine: Engine, tmp_path: Path
) -> None:
    response = server.http.get(url("gpkg"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "projects.gpkg"
    path.write_bytes(response.content)
    expected = published(engine)
    info = pyogrio.read_info(path, layer="projects")
    assert info["crs"] == "EPSG:4326"
    assert info["features"] == len(expected)
    assert list(info["fields"]) == [c.name for c in COLUMNS]
    frame = pyogrio.read_dataframe(path, layer="projects")
    assert set(frame["code"]) == set(expected)
    for row in frame.itertuples():
        project = expected[row.code]
        assert row.geometry.equals_exact(shapely.from_wkt(project["wkt"]), 1e-9)
        assert row.budget == float(project["budget"])
        assert row.title == project["title"]


def test_each_file_is_named_for_the_city_and_the_datas_date(server: Server, engine: Engine) -> None:
    with engine.connect() as conn:
        changed = conn.execute(text("SELECT changed_at FROM data_version")).scalar_one()
    day = changed.astimezone(ZoneInfo("Asia/Seoul")).date().isoformat()
    for extension in FILES:
        disposition = server.http.get(url(extension)).headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="seoul-projects-{day}.{extension}"')
        # 서울특별시, for clients that take UTF-8 names (RFC 6266)
        own = "%EC%84%9C%EC%9A%B8%ED%8A%B9%EB%B3%84%EC%8B%9C"
        assert f"filename*=UTF-8''{own}-projects-{day}.{extension}" in disposition


@pytest.mark.parametrize("extension", FILES)
def test_a_current_copy_is_not_sent_again(server: Server, extension: str) -> None:
    tag = server.http.get(url(extension)).headers["etag"]
    for asked in (tag, f"W/{tag}", "*"):
        again = server.http.get(url(extension), headers={"If-None-Match": asked})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag


def test_the_geopackage_is_made_once_per_data_version(server: Server, engine: Engine) -> None:
    def fetch(_: int) -> tuple[str, str]:
        response = server.http.get(url("gpkg"))
        assert response.status_code == 200
        return response.headers["etag"], response.headers["last-modified"]

    with engine.begin() as conn:  # a new version: nobody has asked for its file yet
        conn.execute(text("UPDATE agencies SET phone = phone WHERE code = :c"), {"c": ROAD.agency})
    time.sleep(VERSION_TTL * 1.5)
    with ThreadPoolExecutor(6) as pool:
        answers = set(pool.map(fetch, range(6)))
    assert len(answers) == 1  # one file, made once for all six
    time.sleep(1.1)  # a file made later would have a later modification time
    assert fetch(0) in answers
    with engine.begin() as conn:
        conn.execute(text("UPDATE agencies SET phone = phone WHERE code = :c"), {"c": ROAD.agency})
    time.sleep(VERSION_TTL * 1.5)
    assert fetch(0) not in answers


def test_a_geojson_feature_carries_the_flat_properties(server: Server, engine: Engine) -> None:
    feature = next(
        f for f in server.http.get(url("geojson")).json()["features"] if f["id"] == ROAD.code
    )
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.agency_code, a.name ->> 'ko' AS agency, d.name ->> 'ko' AS district, "
                "p.planned_end FROM projects p JOIN agencies a ON a.code = p.agency_code "
                "JOIN districts d ON d.code = p.district_code WHERE p.code = :c"
            ),
            {"c": ROAD.code},
        ).one()
    properties = feature["properties"]
    assert properties["agency_code"] == row.agency_code
    assert properties["agency_name"] == row.agency
    assert properties["district_name"] == row.district
    assert properties["planned_end"] == row.planned_end.isoformat()
    assert properties["budget"] == ROAD.budget


@pytest.mark.parametrize("extension", FILES)
def test_a_download_takes_no_parameters(server: Server, extension: str) -> None:
    response = server.http.get(url(extension), params={"format": "xlsx"})
    assert problem(response, 400) == ["format"]


def test_the_citys_licence_is_on_the_page_and_in_the_config(server: Server, engine: Engine) -> None:
    """Seoul's file names its licence; the page links it, named in the page's language."""
    with engine.connect() as conn:
        licence = conn.execute(text("SELECT licence FROM jurisdiction")).scalar_one()
    assert licence == read_city(SEOUL).licence.model_dump()
    assert licence["url"] == "https://www.kogl.or.kr/info/licenseType1.do"
    for lang in ("ko", "en"):
        page = server.http.get("/downloads", params={"lang": lang}).text
        link = f'<a href="{licence["url"]}" rel="license">{licence["name"][lang]}</a>'
        assert link in page
    config = server.http.get("/api/config").json()
    assert config["jurisdiction"]["licence"] == licence


@pytest.mark.parametrize("path", [url("geojson"), url("csv"), "/api/export/oc4ids.json"])
def test_a_head_of_a_streamed_file_answers_the_gets_headers(
    server: Server, engine: Engine, path: str
) -> None:
    """The headers a GET would carry, no body, and the cursor closed: no session of the API is
    left reading."""
    whole = server.http.get(path)
    head = server.http.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == whole.headers["etag"]
    assert head.headers["content-type"] == whole.headers["content-type"]
    with engine.connect() as conn:
        reading = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'allimi-api' "
                "AND state <> 'idle'"
            )
        ).scalar()
    assert reading == 0
