"""Reading a jurisdiction's boundaries from a file: any CRS, three formats, one sentence for
each problem, repairs only on request."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box

from geo.boundary_file import read_boundaries
from geo.errors import AllimiError
from geo.settings import DATA_DIR

UTM49N = "EPSG:32649"  # metres, the zone of Da Nang
SEOUL_FULL = DATA_DIR / "seoul" / "gu_2015_full.geojson"
# Three wards side by side, 4 km wide, south-west corner at (x0, y0) in UTM 49N
X0, Y0, SIDE = 196_000.0, 1_771_000.0, 4_000.0
WARDS = [("49001", "Hải Châu"), ("49002", "Thanh Khê"), ("49003", "Sơn Trà")]


def _wards(crs: str | None = UTM49N, overlap_m: float = 0.0) -> gpd.GeoDataFrame:
    shapes = [
        box(X0 + i * SIDE - (overlap_m if i else 0), Y0, X0 + (i + 1) * SIDE, Y0 + SIDE)
        for i in range(len(WARDS))
    ]
    return gpd.GeoDataFrame(
        {"ma": [c for c, _ in WARDS], "ten": [n for _, n in WARDS]}, geometry=shapes, crs=crs
    )


def _zipped_shapefile(frame: gpd.GeoDataFrame, folder: Path) -> Path:
    with warnings.catch_warnings():  # the file with no CRS is made on purpose
        warnings.simplefilter("ignore", UserWarning)
        frame.to_file(folder / "wards.shp", engine="pyogrio")
    archive = folder / "wards.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.glob("wards.*"):
            if part.suffix != ".zip":
                zipped.write(part, part.name)
    return archive


@pytest.mark.parametrize("kind", ["gpkg", "zip", "geojson"])
def test_a_projected_file_is_read_in_longitude_latitude(tmp_path: Path, kind: str) -> None:
    frame = _wards()
    if kind == "gpkg":
        path = tmp_path / "wards.gpkg"
        frame.to_file(path, engine="pyogrio")
    elif kind == "zip":
        path = _zipped_shapefile(frame, tmp_path)
    else:
        path = tmp_path / "wards.geojson"  # GeoJSON is longitude/latitude by definition
        frame.to_crs("EPSG:4326").to_file(path, engine="pyogrio")
    read = read_boundaries(path, "ma")
    assert read.crs.to_epsg() == 4326
    assert list(read["ma"]) == [c for c, _ in WARDS]
    assert list(read["ten"]) == [n for _, n in WARDS]
    to_lon_lat = Transformer.from_crs(UTM49N, "EPSG:4326", always_xy=True)
    lon, lat = to_lon_lat.transform(X0 + SIDE / 2, Y0 + SIDE / 2)
    first = read.geometry[0]
    assert first.geom_type == "MultiPolygon"
    assert first.centroid.distance(Point(lon, lat)) < 1e-6
    assert 108.0 < lon < 108.4 and 15.9 < lat < 16.2  # Da Nang


def test_an_invalid_ring_is_named_with_its_place_and_repaired_only_on_request() -> None:
    with pytest.raises(AllimiError) as refused:
        read_boundaries(SEOUL_FULL, "SIG_CD")
    message = str(refused.value)
    assert message.startswith("gu_2015_full.geojson: 1 boundaries are not valid (")
    assert "Ring Self-intersection[126.82118" in message and "37.56304" in message
    repaired = read_boundaries(SEOUL_FULL, "SIG_CD", repair=True)
    assert len(repaired) == 25 and repaired.geometry.is_valid.all()


def _refused(path: Path, code_field: str = "ma") -> str:
    with pytest.raises(AllimiError) as refused:
        read_boundaries(path, code_field)
    return str(refused.value)


def test_each_bad_file_is_one_sentence_and_nothing_is_returned(tmp_path: Path) -> None:
    points = gpd.GeoDataFrame({"ma": ["1"]}, geometry=[Point(108.2, 16.0)], crs="EPSG:4326")
    points.to_file(tmp_path / "points.gpkg", engine="pyogrio")
    assert (
        _refused(tmp_path / "points.gpkg") == "points.gpkg holds no polygons to use as boundaries."
    )

    _wards().to_file(tmp_path / "wards.gpkg", engine="pyogrio")
    assert _refused(tmp_path / "wards.gpkg", "code") == (
        "wards.gpkg has no field 'code'; its fields are: ma, ten."
    )

    twice = _wards()
    twice.loc[2, "ma"] = "49001"
    twice.to_file(tmp_path / "twice.gpkg", engine="pyogrio")
    assert _refused(tmp_path / "twice.gpkg") == "twice.gpkg: ma repeats: 49001."

    _wards(overlap_m=1_000).to_file(tmp_path / "overlap.gpkg", engine="pyogrio")
    assert _refused(tmp_path / "overlap.gpkg") == (
        "overlap.gpkg: districts overlap: 49001 and 49002 (25%); 49002 and 49003 (20%)."
    )

    folder = tmp_path / "nocrs"
    folder.mkdir()
    no_crs = _zipped_shapefile(_wards(crs=None), folder)
    assert _refused(no_crs) == (
        "wards.zip names no CRS and its coordinates are not longitude/latitude (x from "
        "196,000 to 208,000); add the CRS to the file (a .prj beside a Shapefile)."
    )

    (tmp_path / "junk.gpkg").write_bytes(b"not a geopackage")
    assert _refused(tmp_path / "junk.gpkg").startswith(
        "junk.gpkg cannot be read as a boundary file ("
    )


def test_a_bowtie_is_refused_then_repaired_into_its_two_triangles(tmp_path: Path) -> None:
    bowtie = Polygon([(108.20, 16.00), (108.22, 16.02), (108.22, 16.00), (108.20, 16.02)])
    gpd.GeoDataFrame({"ma": ["9"]}, geometry=[bowtie], crs="EPSG:4326").to_file(
        tmp_path / "bowtie.gpkg", engine="pyogrio"
    )
    assert "Self-intersection" in _refused(tmp_path / "bowtie.gpkg")
    repaired = read_boundaries(tmp_path / "bowtie.gpkg", "ma", repair=True).geometry[0]
    assert repaired.is_valid and len(repaired.geoms) == 2
    assert repaired.area == pytest.approx(
        2 * 0.5 * 0.02 * 0.01
    )  # two triangles meeting at the crossing
