"""Administrative areas: districts, and the neighbourhoods inside them when a city has both.

Each level is read from a boundary file (``geo.boundary_file``). Two levels in one file (a file
of neighbourhoods that also names each one's district) make the districts by dissolving their
neighbourhoods; levels in two files are joined in space, each neighbourhood to the district
holding it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from shapely import wkb
from shapely.geometry import MultiPolygon
from sqlalchemy import Connection, text

from geo.boundary_file import polygonal, read_boundaries
from geo.errors import AllimiError


@dataclass(frozen=True)
class Area:
    code: str
    name: dict[str, str]  # language -> name
    geom: MultiPolygon
    level: int = 1  # 1: district; 2: neighbourhood
    parent: str | None = None


@dataclass(frozen=True)
class LevelSource:
    """Where one level's areas are: the file, its code field and its name field per language."""

    path: Path
    code: str
    names: dict[str, str] = field(default_factory=dict)


def _names(frame: gpd.GeoDataFrame, source: LevelSource) -> list[dict[str, str]]:
    missing = [f for f in source.names.values() if f not in frame.columns]
    if missing:
        fields = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise AllimiError(
            f"{source.path.name} has no field {missing[0]!r} for names; its fields are: {fields}."
        )
    return [
        {lang: str(row[f]).strip() for lang, f in source.names.items() if str(row[f]).strip()}
        for _, row in frame.iterrows()
    ]


def _areas(frame: gpd.GeoDataFrame, source: LevelSource, level: int) -> list[Area]:
    return [
        Area(code=str(code), name=name, geom=geom, level=level)
        for code, name, geom in zip(
            frame[source.code], _names(frame, source), frame.geometry, strict=True
        )
    ]


def _dissolved(frame: gpd.GeoDataFrame, outer: LevelSource) -> list[Area]:
    """The outer level made of the inner level's areas, grouped by the outer code field."""
    if outer.code not in frame.columns:
        fields = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise AllimiError(
            f"{outer.path.name} has no field {outer.code!r}; its fields are: {fields}."
        )
    codes = frame[outer.code].astype("string").str.strip()
    if codes.isna().any() or (codes == "").any():
        raise AllimiError(f"{outer.path.name}: some boundaries have no {outer.code}.")
    grouped = frame.assign(**{outer.code: codes}).dissolve(by=outer.code, as_index=False)
    grouped = grouped.set_geometry(grouped.geometry.map(polygonal))
    return _areas(grouped.sort_values(outer.code), outer, 1)


def _containing(districts: list[Area], inner: list[Area]) -> list[Area]:
    """Each inner area with the code of the district holding its representative point (the
    nearest district, in metres, for a point in a gap between two files' borders)."""
    outer = gpd.GeoDataFrame(
        {"code": [d.code for d in districts]}, geometry=[d.geom for d in districts], crs=4326
    )
    points = gpd.GeoDataFrame(geometry=[a.geom.representative_point() for a in inner], crs=4326)
    inside = points.sjoin(outer, predicate="within")
    parents = inside[~inside.index.duplicated()]["code"].reindex(points.index)
    gaps = parents.isna()
    if gaps.any():
        metric = outer.estimate_utm_crs()
        nearest = points[gaps].to_crs(metric).sjoin_nearest(outer.to_crs(metric))
        parents[gaps] = nearest[~nearest.index.duplicated()]["code"]
    return [
        Area(a.code, a.name, a.geom, 2, parent)
        for a, parent in zip(inner, parents.tolist(), strict=True)
    ]


def read_levels(sources: list[LevelSource], *, repair: bool = False) -> list[Area]:
    """The areas of one level (districts) or two (districts, then neighbourhoods)."""
    if not 1 <= len(sources) <= 2:
        raise AllimiError("A city has one administrative level or two (districts, neighbourhoods).")
    inner = sources[-1]
    frame = read_boundaries(inner.path, inner.code, repair=repair)
    if len(sources) == 1:
        return _areas(frame, inner, 1)
    outer = sources[0]
    children = _areas(frame, inner, 2)
    if outer.path == inner.path:
        parents = frame[outer.code].astype("string").str.strip().tolist()
        districts = _dissolved(frame, outer)
        children = [
            Area(a.code, a.name, a.geom, 2, p) for a, p in zip(children, parents, strict=True)
        ]
    else:
        districts = _areas(read_boundaries(outer.path, outer.code, repair=repair), outer, 1)
        children = _containing(districts, children)
    clash = sorted({d.code for d in districts} & {c.code for c in children})
    if clash:
        raise AllimiError(f"District and neighbourhood codes clash: {', '.join(clash[:3])}.")
    return districts + children


def store_areas(conn: Connection, areas: list[Area]) -> None:
    """Replace the stored areas with ``areas`` (districts before their neighbourhoods)."""
    conn.execute(text("DELETE FROM districts WHERE level > 1"))
    conn.execute(text("DELETE FROM districts"))
    conn.execute(
        text(
            """
            INSERT INTO districts (code, name, level, parent_code, geom)
            VALUES (:code, CAST(:name AS jsonb), :level, :parent,
                    ST_Multi(ST_GeomFromText(:wkt, 4326)))
            """
        ),
        [
            {
                "code": a.code,
                "name": json.dumps(a.name, ensure_ascii=False),
                "level": a.level,
                "parent": a.parent,
                "wkt": a.geom.wkt,
            }
            for a in sorted(areas, key=lambda a: a.level)
        ],
    )


def stored_areas(conn: Connection) -> list[Area]:
    """The stored areas, districts first."""
    rows = conn.execute(
        text(
            "SELECT code, name, ST_AsBinary(geom), level, parent_code FROM districts "
            "ORDER BY level, code"
        )
    ).all()
    return [Area(r[0], dict(r[1]), wkb.loads(bytes(r[2])), r[3], r[4]) for r in rows]
