"""A small hand-made city for the API and browser tests: every value is known in advance."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.jurisdiction import SEOUL, init_city, read_city

AGENCIES = [
    ("TEST-ROADS", "시험 도로과", "Test Roads Office", "02-000-0001"),
    ("TEST-WATER", "시험 상수도과", "Test Water Office", "02-000-0002"),
]


@dataclass(frozen=True)
class Fixture:
    code: str
    title: str
    category: str
    status: str
    agency: str
    wkt: str
    budget: int
    spent: int
    actual: float
    planned: float
    start: str
    end: str
    contractor: str = "(주)시험건설"
    published: bool = True
    updated_days_ago: int = 3


# A street at about (127.0000..127.0010, 37.5000), and a valve 5.5 m north of it.
ROAD = Fixture(
    "FIX-ROAD-1",
    "시험로 도로 포장 정비공사",
    "road",
    "implementation",
    "TEST-ROADS",
    "LINESTRING(127.0000 37.5000, 127.0010 37.5000)",
    1_000_000_000,
    450_000_000,
    40.0,
    60.0,
    "2026-01-05",
    "2027-03-31",
    contractor="(주)한빛시험토건",
)
VALVE = Fixture(
    "FIX-WATER-1",
    "시험로 상수도 밸브 교체공사",
    "water",
    "implementation",
    "TEST-WATER",
    "POINT(127.0005 37.50005)",
    200_000_000,
    230_000_000,
    70.0,
    65.0,
    "2026-02-01",
    "2026-12-31",
)
HIDDEN = Fixture(
    "FIX-HIDDEN-1",
    "비공개 시험 공사",
    "road",
    "implementation",
    "TEST-ROADS",
    "POINT(127.0004 37.5000)",
    5_000_000,
    0,
    0.0,
    0.0,
    "2026-01-01",
    "2026-12-31",
    published=False,
)
LIBRARY = Fixture(
    "FIX-BUILD-1",
    "시험동 공공도서관 건립공사",
    "building",
    "completion",
    "TEST-ROADS",
    "POLYGON((127.0100 37.5100, 127.0110 37.5100, 127.0110 37.5108, "
    "127.0100 37.5108, 127.0100 37.5100))",
    9_000_000_000,
    8_700_000_000,
    100.0,
    100.0,
    "2024-03-01",
    "2025-10-31",
)
PARK = Fixture(
    "FIX-PARK-1",
    "북쪽 근린공원 조성공사 100%_done",
    "park",
    "preparation",
    "TEST-WATER",
    "POINT(126.9500 37.6000)",
    50_000_000_000,
    0,
    0.0,
    0.0,
    "2027-05-01",
    "2028-06-30",
)
STALE = Fixture(
    "FIX-SEWER-1",
    "시험로 하수관로 정비공사",
    "sewer",
    "implementation",
    "TEST-WATER",
    "LINESTRING(127.0200 37.5200, 127.0210 37.5205)",
    800_000_000,
    300_000_000,
    35.0,
    38.0,
    "2026-03-01",
    "2027-01-31",
    updated_days_ago=90,
)

PUBLISHED = [ROAD, VALVE, LIBRARY, PARK, STALE]
ALL = [*PUBLISHED, HIDDEN]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The web-map tile (z, x, y) holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


PROJECT = """
    INSERT INTO projects (code, title, description, category, project_type, status,
        agency_code, contractor, supervisor, officer_name, officer_phone, currency, budget,
        contract_value, spent, progress_actual, progress_planned, planned_start, planned_end,
        actual_start, actual_end, district_code, address, published, updated_at, geom)
    SELECT :code, :title, :description, :category, 'rehabilitation', :status, :agency,
        :contractor, :supervisor, :officer, :officer_phone, :currency, :budget, :budget * 0.9,
        :spent, :actual, :planned, :start, :end,
        CASE WHEN :status IN ('implementation', 'completion') THEN CAST(:start AS date) END,
        CASE WHEN :status = 'completion' THEN CAST(:end AS date) END,
        (SELECT code FROM districts WHERE level = 1 AND ST_Intersects(geom, g) LIMIT 1),
        :address, :published, now() - make_interval(days => :updated_days_ago), g
    FROM (SELECT ST_GeomFromText(:wkt, 4326) AS g) s
"""


def insert_agencies(
    conn: Connection, agencies: list[tuple[str, str, str, str]], languages: tuple[str, str]
) -> None:
    """Agencies given as (code, name in the first language, in the second, phone)."""
    first, second = languages
    conn.execute(
        text(
            "INSERT INTO agencies (code, name, phone) "
            f"VALUES (:c, jsonb_build_object('{first}', :a, '{second}', :b), :phone)"
        ),
        [{"c": c, "a": a, "b": b, "phone": ph} for c, a, b, ph in agencies],
    )


def insert_projects(conn: Connection, projects: list[dict[str, object]]) -> None:
    """Projects given as the parameters of ``PROJECT``; each in the district holding it."""
    for values in projects:
        conn.execute(text(PROJECT), values)


SEOUL_DETAILS = {
    "description": "시험 사업",
    "supervisor": "(주)시험감리",
    "officer": "홍길동",
    "officer_phone": "02-000-1234",
    "currency": "KRW",
    "address": "서울특별시 시험구 시험동",
}


def build(conn: Connection) -> None:
    """Districts, agencies and the fixture projects, with reports and documents for ROAD."""
    init_city(conn, read_city(SEOUL))
    insert_agencies(conn, AGENCIES, ("ko", "en"))
    insert_projects(conn, [{**f.__dict__, **SEOUL_DETAILS} for f in ALL])
    conn.execute(
        text(
            """
            INSERT INTO progress_reports (project_id, reported_on, actual, planned, spent_to_date,
                                          note)
            SELECT id, d, a, pl, s, n FROM projects, (VALUES
                (DATE '2026-02-28', 10.0, 15.0, 100000000, NULL),
                (DATE '2026-06-30', 40.0, 60.0, 450000000, '우기 대비 공정 조정')) v(d, a, pl, s, n)
            WHERE code = 'FIX-ROAD-1';
            INSERT INTO documents (project_id, title, document_type, url, media_type, published_on)
            SELECT id, '현장 사진 1', 'illustration', '/static/test-photo.svg', 'image/svg+xml',
                   DATE '2026-03-15' FROM projects WHERE code = 'FIX-ROAD-1';
            """
        )
    )
