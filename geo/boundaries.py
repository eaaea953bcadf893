"""Administrative boundaries: reading them from GeoJSON (repairing bad rings) and storing them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy import Connection, text

from geo.settings import DATA_DIR

SEOUL_DISTRICTS = DATA_DIR / "seoul" / "gu_2015_simple.geojson"
SEOUL_DONGS = DATA_DIR / "seoul" / "legal_dong_2015_simple.geojson"


@dataclass(frozen=True)
class Area:
    code: str
    name_ko: str
    name_en: str
    geom: MultiPolygon


def polygonal(geom: shapely.Geometry) -> MultiPolygon:
    """A valid MultiPolygon: ``make_valid`` repairs self-intersections; stray lines are dropped."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    nested = [p for g in shapely.get_parts(geom) if isinstance(g, MultiPolygon) for p in g.geoms]
    return MultiPolygon(parts + nested)


def read_areas(path: Path, code: str, name_ko: str, name_en: str) -> list[Area]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    areas = [
        Area(
            code=str(f["properties"][code]),
            name_ko=f["properties"][name_ko],
            name_en=f["properties"][name_en],
            geom=polygonal(shape(f["geometry"])),
        )
        for f in features
    ]
    return sorted(areas, key=lambda a: a.code)


def seoul_districts() -> list[Area]:
    return read_areas(SEOUL_DISTRICTS, "SIG_CD", "SIG_KOR_NM", "SIG_ENG_NM")


def seoul_dongs() -> list[Area]:
    return read_areas(SEOUL_DONGS, "EMD_CD", "EMD_KOR_NM", "EMD_ENG_NM")


def store_districts(conn: Connection, areas: list[Area]) -> None:
    """Insert or update districts by code."""
    conn.execute(
        text(
            """
            INSERT INTO districts (code, name_ko, name_en, geom)
            VALUES (:code, :name_ko, :name_en, ST_GeomFromText(:wkt, 4326))
            ON CONFLICT (code) DO UPDATE
            SET name_ko = excluded.name_ko, name_en = excluded.name_en, geom = excluded.geom
            """
        ),
        [
            {"code": a.code, "name_ko": a.name_ko, "name_en": a.name_en, "wkt": a.geom.wkt}
            for a in areas
        ],
    )
