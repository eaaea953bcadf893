"""``allimi city init``: a city set up from its files alone, and every bad input refused with one
sentence, a non-zero exit and nothing stored."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from sqlalchemy import text

from geo.jurisdiction import SEOUL, read_city
from geo.settings import DATA_DIR
from geo.store import migrate
from geo.store.database import engine_for
from tests import danang

ALLIMI = str(Path(sys.executable).with_name("allimi"))
HANGUL = "\uac00-\ud7a3"
DANANG_OPTIONS = [
    "--code-prefix", "DN", "--currency", "VND", "--timezone", "Asia/Ho_Chi_Minh",
    "--languages", "vi,en", "--name", "vi=Thành phố Đà Nẵng", "--name", "en=Da Nang",
    "--level-name", "vi=Phường", "--level-name", "en=Ward",
]  # fmt: skip
CC_BY = {
    "name": {"vi": "CC BY 4.0", "en": "CC BY 4.0"},
    "url": "https://creativecommons.org/licenses/by/4.0/",
}


def allimi(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [ALLIMI, *args], capture_output=True, text=True, env=environment, timeout=180, check=False
    )


def _rows(url: str, sql: str) -> list[tuple]:
    engine = engine_for(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def _refused(done: subprocess.CompletedProcess[str], url: str, *phrases: str) -> None:
    """One sentence naming the problem, exit 1, and no city stored."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    assert _rows(url, "SELECT count(*) FROM jurisdiction") == [(0,)]
    assert _rows(url, "SELECT count(*) FROM districts") == [(0,)]


@pytest.fixture
def portal(scratch_db: str) -> str:
    """An empty portal: migrated, no city."""
    migrate.upgrade(scratch_db)
    return scratch_db


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """The Da Nang test city's GeoPackage and city file; returns the city file."""
    return danang.write_files(tmp_path)


def test_a_city_from_its_file_with_nested_levels(portal: str, files: Path) -> None:
    done = allimi(portal, "city", "init", "--config", str(files))
    assert done.returncode == 0, done.stderr
    assert "Thành phố Đà Nẵng is set up: 2 districts" in done.stderr
    districts = _rows(
        portal, "SELECT code, name, level, parent_code FROM districts ORDER BY level, code"
    )
    quan = [(c, {"vi": vi, "en": en}, 1, None) for c, vi, en in danang.QUAN]
    phuong = [
        (code, {"vi": vi, "en": en}, 2, parent)
        for parent, wards in danang.PHUONG.items()
        for code, vi, en in wards
    ]
    assert districts == quan + phuong
    # a quận is the union of its phường: 2 of them, 2 km square each
    area = _rows(portal, "SELECT round(ST_Area(geom::geography)) FROM districts WHERE code = '490'")
    assert area[0][0] == pytest.approx(2 * 2000 * 2000, rel=0.002)
    city = _rows(
        portal,
        "SELECT name, languages, currency, timezone, code_prefix, levels FROM jurisdiction",
    )
    assert city == [
        (danang.CITY_NAME, ["vi", "en"], "VND", "Asia/Ho_Chi_Minh", "DN", list(danang.LEVELS))
    ]
    # the file names no licence: CC BY 4.0, under that name in each of the city's languages
    assert _rows(portal, "SELECT licence FROM jurisdiction") == [(CC_BY,)]
    labels = _rows(portal, "SELECT label FROM categories WHERE code = 'road'")
    assert labels == [({"vi": "Đường bộ", "en": "Road"},)]
    statuses = _rows(portal, "SELECT label::text FROM terms")
    assert not [s for (s,) in statuses if any("\uac00" <= ch <= "\ud7a3" for ch in s)]


def test_a_city_adds_categories_of_its_own(portal: str, files: Path) -> None:
    with files.open("a", encoding="utf-8") as city:
        city.write(
            '\n[[categories]]\ncode = "ferry"\noc4ids = "transport.water"\n'
            'color = "#0b7285"\nlabel = { vi = "Phà", en = "Ferry" }\n'
        )
    done = allimi(portal, "city", "init", "--config", str(files))
    assert done.returncode == 0, done.stderr
    rows = _rows(portal, "SELECT code, label, position FROM categories ORDER BY position DESC")
    assert rows[0] == ("ferry", {"vi": "Phà", "en": "Ferry"}, 13)  # after the 13 built in


def test_a_city_from_options_alone(portal: str, files: Path) -> None:
    gpkg = files.with_name("phuong.gpkg")
    done = allimi(
        portal, "city", "init", "--boundaries", str(gpkg), "--code-field", "ma_phuong",
        "--name-field", "vi=ten_phuong", "--name-field", "en=ten_phuong_en", *DANANG_OPTIONS,
        "--licence-name", "vi=Giấy phép dữ liệu mở", "--licence-name", "en=Open data licence",
        "--licence-url", "https://data.danang.example/licence",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _rows(portal, "SELECT count(*), min(level), max(level) FROM districts") == [(4, 1, 1)]
    assert _rows(portal, "SELECT levels FROM jurisdiction") == [([{"vi": "Phường", "en": "Ward"}],)]
    licence = {
        "name": {"vi": "Giấy phép dữ liệu mở", "en": "Open data licence"},
        "url": "https://data.danang.example/licence",
    }
    assert _rows(portal, "SELECT licence FROM jurisdiction") == [(licence,)]


def test_seoul_publishes_under_the_korea_open_government_license(portal: str) -> None:
    assert allimi(portal, "city", "init", "--config", str(SEOUL)).returncode == 0
    licence = {
        "name": {
            "ko": "공공누리 제1유형 (출처표시)",
            "en": "Korea Open Government License Type 1 (attribution)",
        },
        "url": "https://www.kogl.or.kr/info/licenseType1.do",
    }
    assert read_city(SEOUL).licence.model_dump() == licence
    assert _rows(portal, "SELECT licence FROM jurisdiction") == [(licence,)]


@pytest.mark.parametrize(
    ("licence", "phrases"),
    [
        (
            'name = { vi = "Giấy phép" }\nurl = "ftp://data.danang.example/licence"',
            ["danang.toml: licence.url: 'ftp://data.danang.example/licence' is not an http"],
        ),
        ('name = { vi = "Giấy phép" }\nurl = "data.danang.example"', ["licence.url:", "http"]),
        ('name = { vi = "Giấy phép" }', ["licence.url: Field required"]),
        (
            'name = { vi = " ", en = "Licence" }\nurl = "https://data.danang.example"',
            ["licence.name: the name in 'vi' is empty"],
        ),
        ('name = {}\nurl = "https://data.danang.example"', ["licence.name:", "no name"]),
        (
            'name = { en = "Licence" }\nurl = "https://data.danang.example"',
            ["the licence's name is not given in the default language 'vi'"],
        ),
    ],
    ids=["ftp", "no scheme", "no url", "empty name", "no name", "not in the default language"],
)
def test_a_bad_licence_is_refused_naming_the_field(
    portal: str, files: Path, licence: str, phrases: list[str]
) -> None:
    with files.open("a", encoding="utf-8") as city:
        city.write(f"\n[licence]\n{licence}\n")
    _refused(allimi(portal, "city", "init", "--config", str(files)), portal, *phrases)


def test_a_bad_licence_url_option_is_refused(portal: str, files: Path) -> None:
    done = allimi(
        portal, "city", "init", "--boundaries", str(files.with_name("phuong.gpkg")),
        "--code-field", "ma_phuong", "--name-field", "vi=ten_phuong", *DANANG_OPTIONS,
        "--licence-name", "vi=Giấy phép", "--licence-url", "javascript:alert(1)",
    )  # fmt: skip
    _refused(done, portal, "licence.url: 'javascript:alert(1)' is not an http or https URL")


def test_invalid_rings_are_repaired_only_on_request(portal: str) -> None:
    full = DATA_DIR / "seoul" / "gu_2015_full.geojson"
    args = [
        "city", "init", "--boundaries", str(full), "--code-field", "SIG_CD",
        "--name-field", "ko=SIG_KOR_NM", "--name-field", "en=SIG_ENG_NM", "--name", "ko=서울",
        "--code-prefix", "SEOUL", "--currency", "KRW", "--timezone", "Asia/Seoul",
        "--languages", "ko,en", "--level-name", "ko=자치구",
    ]  # fmt: skip
    _refused(allimi(portal, *args), portal, "not valid", "Ring Self-intersection")
    done = allimi(portal, *args, "--repair")
    assert done.returncode == 0, done.stderr
    assert _rows(portal, "SELECT count(*) FROM districts WHERE ST_IsValid(geom)") == [(25,)]


def _points(folder: Path) -> Path:
    path = folder / "points.gpkg"
    gpd.GeoDataFrame({"ma": ["1"]}, geometry=[Point(108.2, 16.0)], crs=4326).to_file(path)
    return path


def _overlapping(folder: Path) -> Path:
    path = folder / "overlap.gpkg"
    shapes = [box(0, 0, 1000, 1000), box(500, 0, 1500, 1000)]
    gpd.GeoDataFrame({"ma": ["1", "2"]}, geometry=shapes, crs=danang.UTM49N).to_file(path)
    return path


def _metres_without_crs(folder: Path) -> Path:
    path = folder / "nocrs.gpkg"
    shapes = [box(196_000, 1_771_000, 198_000, 1_773_000)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        gpd.GeoDataFrame({"ma": ["1"]}, geometry=shapes, crs=None).to_file(path)
    return path


@pytest.mark.parametrize(
    ("make", "field", "phrases"),
    [
        (_points, "ma", ["points.gpkg holds no polygons"]),
        (lambda f: f / "phuong.gpkg", "nope", ["has no field 'nope'", "ma_phuong"]),
        (_overlapping, "ma", ["districts overlap: 1 and 2 (50%)"]),
        (_metres_without_crs, "ma", ["names no CRS", "not longitude/latitude"]),
    ],
    ids=["no polygons", "no code field", "overlapping", "metres without a CRS"],
)
def test_bad_boundary_files_are_refused(portal: str, files: Path, make, field, phrases):
    path = make(files.parent)
    done = allimi(
        portal, "city", "init", "--boundaries", str(path), "--code-field", field,
        "--name-field", f"vi={field}", *DANANG_OPTIONS,
    )  # fmt: skip
    _refused(done, portal, *phrases)


@pytest.mark.parametrize(
    ("option", "value", "phrases"),
    [
        ("--currency", "VNX", ["currency: unknown currency 'VNX'", "VND", "KRW", "THB"]),
        ("--languages", "vi,xx", ["languages: unknown language 'xx'; valid: en, ko, vi"]),
        ("--timezone", "Asia/Danang", ["unknown time zone 'Asia/Danang'"]),
        ("--code-prefix", "dn", ["code_prefix: 'dn' is not 1-12 capital letters"]),
    ],
)
def test_bad_values_are_refused_with_the_valid_ones(
    portal: str, files: Path, option: str, value: str, phrases: list[str]
) -> None:
    options = list(DANANG_OPTIONS)
    options[options.index(option) + 1] = value
    done = allimi(
        portal, "city", "init", "--boundaries", str(files.with_name("phuong.gpkg")),
        "--code-field", "ma_phuong", "--name-field", "vi=ten_phuong", *options,
    )  # fmt: skip
    _refused(done, portal, *phrases)


def test_a_portal_with_projects_keeps_its_city(danang_db: str, files: Path) -> None:
    before = _rows(danang_db, "SELECT code, name FROM districts ORDER BY code")
    done = allimi(danang_db, "city", "init", "--config", str(files))
    assert done.returncode == 1
    assert "holds 2 projects; a city is set up in an empty portal" in done.stderr
    assert _rows(danang_db, "SELECT code, name FROM districts ORDER BY code") == before


def test_a_demo_portal_changes_city_only_when_told_to_drop_its_samples(
    portal: str, files: Path
) -> None:
    seoul = DATA_DIR / "seoul" / "city.toml"
    assert allimi(portal, "city", "init", "--config", str(seoul)).returncode == 0
    assert allimi(portal, "demo", "--projects", "30").returncode == 0
    kept = allimi(portal, "city", "init", "--config", str(files))
    assert kept.returncode == 1
    assert "holds 30 synthetic sample projects" in kept.stderr
    assert "--drop-sample" in kept.stderr
    assert _rows(portal, "SELECT code_prefix FROM jurisdiction") == [("SEOUL",)]
    done = allimi(portal, "city", "init", "--config", str(files), "--drop-sample")
    assert done.returncode == 0, done.stderr
    assert _rows(
        portal, "SELECT code_prefix, (SELECT count(*) FROM projects) FROM jurisdiction"
    ) == [("DN", 0)]
