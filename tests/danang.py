"""A second city the tests make: two quận of two phường each, somewhere in Da Nang.

The boundary file is a GeoPackage in UTM zone 49N (metres) holding the phường, each naming its
quận, so ``allimi city init`` dissolves the quận from them. Names are Vietnamese with English
translations; money is VND; the default language is Vietnamese. ``build`` adds agencies and a
few projects of its own (no demo), so that tests know every value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
from pyproj import Transformer
from shapely.geometry import box
from sqlalchemy import Connection, text

from tests.city import insert_agencies, insert_projects

UTM49N = "EPSG:32649"
X0, Y0, SIDE = 196_000.0, 1_771_000.0, 2_000.0  # south-west corner, phường side (m)
# (quận code, vi, en), then its phường: (code, vi, en)
QUAN = [
    ("490", "Quận Hải Châu", "Hai Chau District"),
    ("493", "Quận Sơn Trà", "Son Tra District"),
]
PHUONG = {
    "490": [
        ("20194", "Phường Thạch Thang", "Thach Thang Ward"),
        ("20197", "Phường Hải Châu I", "Hai Chau I Ward"),
    ],
    "493": [
        ("20260", "Phường An Hải Bắc", "An Hai Bac Ward"),
        ("20263", "Phường Phước Mỹ", "Phuoc My Ward"),
    ],
}
CITY_NAME = {"vi": "Thành phố Đà Nẵng", "en": "Da Nang"}
LEVELS = {"vi": "Quận", "en": "District"}, {"vi": "Phường", "en": "Ward"}
TO_LON_LAT = Transformer.from_crs(UTM49N, "EPSG:4326", always_xy=True)


def lon_lat(x: float, y: float) -> tuple[float, float]:
    """A point given in metres from the south-west corner, as longitude/latitude."""
    lon, lat = TO_LON_LAT.transform(X0 + x, Y0 + y)
    return round(lon, 6), round(lat, 6)


def write_files(folder: Path) -> Path:
    """The boundary GeoPackage and the city file beside it; returns the city file."""
    rows = []
    for i, (quan, quan_vi, quan_en) in enumerate(QUAN):
        for j, (code, vi, en) in enumerate(PHUONG[quan]):
            x = X0 + (2 * i + j) * SIDE
            rows.append(
                {
                    "ma_quan": quan,
                    "ten_quan": quan_vi,
                    "ten_quan_en": quan_en,
                    "ma_phuong": code,
                    "ten_phuong": vi,
                    "ten_phuong_en": en,
                    "geometry": box(x, Y0, x + SIDE, Y0 + SIDE),
                }
            )
    gpd.GeoDataFrame(rows, crs=UTM49N).to_file(folder / "phuong.gpkg", engine="pyogrio")
    toml = f"""
name = {_inline(CITY_NAME)}
code_prefix = "DN"
currency = "VND"
timezone = "Asia/Ho_Chi_Minh"
languages = ["vi", "en"]
boundaries = "phuong.gpkg"
attribution = "Ranh giới hành chính thử nghiệm / test boundaries"

[[levels]]
label = {_inline(LEVELS[0])}
code = "ma_quan"
name = {{ vi = "ten_quan", en = "ten_quan_en" }}

[[levels]]
label = {_inline(LEVELS[1])}
code = "ma_phuong"
name = {{ vi = "ten_phuong", en = "ten_phuong_en" }}
"""
    path = folder / "danang.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def _inline(values: dict[str, str]) -> str:
    return (
        "{ "
        + ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
        + " }"
    )


@dataclass(frozen=True)
class Project:
    code: str
    title: str
    category: str
    status: str
    agency: str
    contractor: str
    budget: int
    spent: int
    actual: float
    planned: float
    start: str
    end: str
    wkt: str
    address: str


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    (a, b), (c, d) = lon_lat(x1, y1), lon_lat(x2, y2)
    return f"LINESTRING({a} {b}, {c} {d})"


def _point(x: float, y: float) -> str:
    a, b = lon_lat(x, y)
    return f"POINT({a} {b})"


AGENCIES = [
    (
        "DN-GTVT",
        "Sở Giao thông vận tải Đà Nẵng",
        "Da Nang Department of Transport",
        "0236 3822 000",
    ),
    ("DN-CAPNUOC", "Công ty Cấp nước Đà Nẵng", "Da Nang Water Supply Company", "0236 3696 632"),
]
# A street in Phường Thạch Thang, a pumping station in Phường Phước Mỹ
ROAD = Project(
    "DN-2026-000001",
    "Cải tạo mặt đường Trần Phú",
    "road",
    "implementation",
    "DN-GTVT",
    "Công ty Cổ phần Xây dựng Sông Hàn",
    12_500_000_000,
    4_800_000_000,
    38.0,
    45.0,
    "2026-03-01",
    "2027-02-28",
    _line(500, 1000, 1500, 1000),
    "Phường Thạch Thang, Quận Hải Châu",
)
PUMP = Project(
    "DN-2026-000002",
    "Nâng cấp trạm bơm Phước Mỹ",
    "water",
    "preparation",
    "DN-CAPNUOC",
    "Công ty TNHH Kỹ thuật Nước Miền Trung",
    850_000_000,
    0,
    0.0,
    0.0,
    "2027-01-10",
    "2027-06-30",
    _point(7000, 1000),
    "Phường Phước Mỹ, Quận Sơn Trà",
)
PROJECTS = [ROAD, PUMP]


def build(conn: Connection) -> None:
    """Agencies and the projects, with a progress report and a document for the road."""
    insert_agencies(conn, AGENCIES, ("vi", "en"))
    details = {
        "description": "Dự án thử nghiệm",
        "supervisor": None,
        "officer": "Nguyễn Văn An",
        "officer_phone": "0236 3822 111",
        "currency": "VND",
        "published": True,
        "updated_days_ago": 3,
    }
    insert_projects(conn, [{**p.__dict__, **details} for p in PROJECTS])
    conn.execute(
        text(
            """
            INSERT INTO progress_reports (project_id, reported_on, actual, planned, spent_to_date,
                                          note)
            SELECT id, DATE '2026-06-30', 38.0, 45.0, 4800000000, 'Điều chỉnh tiến độ mùa mưa'
            FROM projects WHERE code = :code;
            INSERT INTO documents (project_id, title, document_type, url, media_type, published_on)
            SELECT id, 'Ảnh hiện trường 1', 'illustration', '/static/test-photo.svg',
                   'image/svg+xml', DATE '2026-03-15' FROM projects WHERE code = :code;
            """
        ),
        {"code": ROAD.code},
    )
