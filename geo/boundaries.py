"""Administrative boundaries: Seoul's, shipped in ``data/``, and storing them as districts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import MultiPolygon
from sqlalchemy import Connection, text

from geo.boundary_file import read_boundaries
from geo.settings import DATA_DIR

SEOUL_DISTRICTS = DATA_DIR / "seoul" / "gu_2015_simple.geojson"
SEOUL_DONGS = DATA_DIR / "seoul" / "legal_dong_2015_simple.geojson"


@dataclass(frozen=True)
class Area:
    code: str
    name_ko: str
    name_en: str
    geom: MultiPolygon


def read_areas(path: Path, code: str, name_ko: str, name_en: str) -> list[Area]:
    """The areas of a shipped file, whose few invalid rings are known and repaired on purpose
    (two legal dongs)."""
    frame = read_boundaries(path, code, repair=True)
    return [
        Area(code=row[code], name_ko=row[name_ko], name_en=row[name_en], geom=row.geometry)
        for _, row in frame.iterrows()
    ]


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
