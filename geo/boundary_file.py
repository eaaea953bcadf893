"""A jurisdiction's administrative boundaries read from a file, checked before anything is stored.

GeoJSON, GeoPackage or a zipped Shapefile in any CRS (geopandas over pyogrio), returned in
EPSG:4326. Each problem stops the read with one sentence naming it: no polygons, no usable
code field, codes missing or repeated, coordinates that are not longitude/latitude and no CRS
to say what they are, districts that overlap, rings that are not valid. Invalid rings are
repaired only when asked (``repair=True``), and then with PostGIS's rule (``make_valid``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from pyogrio.errors import DataSourceError
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import explain_validity

from geo.errors import AllimiError

WGS84 = "EPSG:4326"
# Neighbouring districts share borders digitised twice; an intersection larger than this share
# of the smaller district is an overlap, not a sliver.
OVERLAP_SHARE = 0.01
SHOWN = 3  # problems named in one sentence; the rest are counted


def polygonal(geom: shapely.Geometry) -> MultiPolygon:
    """The polygons of ``geom`` as one MultiPolygon (lines and points a repair left are dropped)."""
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    nested = [p for g in shapely.get_parts(geom) if isinstance(g, MultiPolygon) for p in g.geoms]
    return MultiPolygon(parts + nested)


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def _read(path: Path) -> gpd.GeoDataFrame:
    source = f"zip://{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        return gpd.read_file(source)
    except (DataSourceError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AllimiError(f"{path.name} cannot be read as a boundary file ({reason}).") from None


def _in_lon_lat(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    if frame.crs is not None:
        return frame.to_crs(WGS84)
    minx, miny, maxx, maxy = frame.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise AllimiError(
            f"{path.name} names no CRS and its coordinates are not longitude/latitude "
            f"(x from {minx:,.0f} to {maxx:,.0f}); add the CRS to the file (a .prj beside a "
            "Shapefile)."
        )
    return frame.set_crs(WGS84)


def _codes(frame: gpd.GeoDataFrame, field: str, path: Path) -> gpd.GeoDataFrame:
    if field not in frame.columns:
        fields = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise AllimiError(f"{path.name} has no field {field!r}; its fields are: {fields}.")
    codes = frame[field].astype("string").str.strip()
    if codes.isna().any() or (codes == "").any():
        raise AllimiError(
            f"{path.name}: {int((codes.isna() | (codes == '')).sum())} boundaries have no {field}."
        )
    repeated = sorted(codes[codes.duplicated()].unique())
    if repeated:
        raise AllimiError(f"{path.name}: {field} repeats: {_listed(repeated)}.")
    return frame.assign(**{field: codes})


def _valid(frame: gpd.GeoDataFrame, field: str, path: Path, repair: bool) -> gpd.GeoDataFrame:
    invalid = ~frame.geometry.is_valid
    if not invalid.any():
        return frame
    if not repair:
        reasons = [
            f"{code}: {explain_validity(geom)}"
            for code, geom in zip(frame[field][invalid], frame.geometry[invalid], strict=True)
        ]
        raise AllimiError(
            f"{path.name}: {int(invalid.sum())} boundaries are not valid ({_listed(reasons)}); "
            "repair them on purpose (make_valid) or fix the file."
        )
    return frame.set_geometry(frame.geometry.where(~invalid, frame.geometry.make_valid()))


def _no_overlaps(frame: gpd.GeoDataFrame, field: str, path: Path) -> None:
    pairs = gpd.sjoin(frame, frame, predicate="intersects", lsuffix="a", rsuffix="b")
    pairs = pairs[pairs[f"{field}_a"] < pairs[f"{field}_b"]]
    found = []
    for index, row in pairs.iterrows():
        a = frame.geometry[index]
        b = frame.geometry[row["index_b"]]
        share = a.intersection(b).area / min(a.area, b.area)
        if share > OVERLAP_SHARE:
            found.append(f"{row[f'{field}_a']} and {row[f'{field}_b']} ({share:.0%})")
    if found:
        raise AllimiError(f"{path.name}: districts overlap: {_listed(found)}.")


def read_boundaries(path: Path, code_field: str, *, repair: bool = False) -> gpd.GeoDataFrame:
    """The polygons of ``path`` as MultiPolygons in EPSG:4326, one row per ``code_field``
    value (a string, sorted), with the file's other fields; AllimiError naming any problem."""
    frame = _read(path)
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if frame.empty:
        raise AllimiError(f"{path.name} holds no polygons to use as boundaries.")
    frame = _codes(_in_lon_lat(frame, path), code_field, path)
    frame = _valid(frame, code_field, path, repair)
    frame = frame.set_geometry(frame.geometry.map(polygonal))
    _no_overlaps(frame.reset_index(drop=True), code_field, path)
    return frame.sort_values(code_field).reset_index(drop=True)
