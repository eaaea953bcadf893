"""The demo in another city: Da Nang's wards, Vietnamese words, đồng and Indochina time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Response
from sqlalchemy import text

from geo.jurisdiction import read_city
from geo.sample.catalogue import catalogue_for
from geo.sample.money import Money
from geo.settings import Settings
from geo.store.database import drop_database, engine_for, prepare
from tests import danang
from tests.conftest import serve
from tests.test_sample import stored

ALLIMI = str(Path(sys.executable).with_name("allimi"))
ARTIFACTS = Path(__file__).parent / "artifacts"
PROJECTS = 1500
VIETNAMESE = re.compile(
    r"[ăâđêôơưàáạảãầấậẩẫằắặẳẵèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡùúụủũừứựửữỳýỵỷỹ]", re.I
)
KOREAN = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def allimi(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [ALLIMI, *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def demo_db(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Da Nang set up and filled as an operator does it: ``allimi city init``, ``allimi demo``."""
    config = danang.write_files(tmp_path_factory.mktemp("danang_demo"))
    drop_database(prepare(settings, "allimi_test_demo_danang"))
    url = prepare(settings, "allimi_test_demo_danang")
    init = allimi(url, "city", "init", "--config", str(config))
    assert init.returncode == 0, init.stderr
    demo = allimi(url, "demo", "--projects", str(PROJECTS), "--seed", "5", "--as-of", "2026-05-01")
    assert demo.returncode == 0, demo.stderr
    assert f"Loaded {PROJECTS:,} projects" in demo.stderr
    assert not KOREAN.search(init.stderr + demo.stderr) and "Seoul" not in demo.stderr
    yield url
    drop_database(url)


def _rows(url: str, sql: str) -> pd.DataFrame:
    engine = engine_for(url)
    with engine.connect() as conn:
        frame = pd.read_sql(text(sql), conn)
    engine.dispose()
    return frame


def _scalar(url: str, sql: str) -> object:
    return _rows(url, sql).iloc[0, 0]


def test_every_project_lies_in_its_district_and_the_city(demo_db: str) -> None:
    assert _scalar(demo_db, "SELECT count(*) FROM projects") == PROJECTS
    outside = """
        SELECT count(*) FROM projects p JOIN districts d ON d.code = p.district_code
        WHERE d.level <> 1 OR NOT ST_Within(p.geom, d.geom)
           OR NOT ST_Within(p.geom, (SELECT ST_Union(geom) FROM districts WHERE level = 1))"""
    assert _scalar(demo_db, outside) == 0
    assert _scalar(demo_db, "SELECT count(DISTINCT district_code) FROM projects") == 2
    assert _scalar(demo_db, "SELECT count(DISTINCT GeometryType(geom)) FROM projects") == 3


def test_codes_money_and_labels_are_the_citys(demo_db: str) -> None:
    projects = _rows(demo_db, "SELECT code, currency, is_sample, budget, spent FROM projects")
    assert projects["code"].str.fullmatch(r"DN-20\d\d-\d{6}").all()
    assert projects["code"].is_unique
    assert set(projects["currency"]) == {"VND"}
    assert projects["is_sample"].all()
    # Budgets in round tens of millions of đồng, from hundreds of millions to trillions.
    assert (projects["budget"] % 10_000_000 == 0).all()
    assert (projects["spent"] % 10_000 == 0).all()
    assert projects["budget"].min() >= 300_000_000
    assert 5e9 < projects["budget"].median() < 1e11
    assert projects["budget"].max() > 1e11


def test_words_are_vietnamese(demo_db: str) -> None:
    projects = _rows(
        demo_db,
        "SELECT title, description, address, contractor, supervisor, officer_name FROM projects",
    )
    assert projects["title"].str.contains(VIETNAMESE).all()
    assert projects["address"].str.contains(VIETNAMESE).all()
    assert (
        projects["description"].str.endswith("Dữ liệu mẫu tổng hợp, không phải dự án thật.").all()
    )
    assert projects["contractor"].dropna().str.startswith("Công ty ").all()
    assert projects["officer_name"].str.fullmatch(r"\w+ \w+ \w+").all()
    documents = _rows(demo_db, "SELECT title, document_type FROM documents")
    plans = documents[documents["document_type"] == "projectPlan"]["title"]
    assert plans.str.startswith("Kế hoạch dự án: ").all() and len(plans) == PROJECTS
    photos = documents[documents["document_type"] == "illustration"]["title"]
    assert set(photos) == {"Ảnh hiện trường"}
    agencies = _rows(demo_db, "SELECT name->>'vi' AS vi, name->>'en' AS en FROM agencies")
    assert agencies["vi"].str.contains(VIETNAMESE).all()
    assert not agencies["en"].str.contains(VIETNAMESE).any()
    texts = [
        *projects.to_numpy().ravel(),
        *documents["title"],
        *agencies.stack().tolist(),
        *_rows(demo_db, "SELECT note FROM progress_reports")["note"],
    ]
    assert not [
        t for t in texts if isinstance(t, str) and (KOREAN.search(t) or "Seoul" in t or "서울" in t)
    ]


def test_addresses_name_the_ward_and_district_the_work_is_in(demo_db: str) -> None:
    wrong = """
        SELECT count(*) FROM projects p JOIN districts d ON d.code = p.district_code
        WHERE NOT EXISTS (
            SELECT 1 FROM districts w WHERE w.level = 2 AND w.parent_code = d.code
               AND ST_Intersects(w.geom, p.geom)
               AND p.address = (w.name->>'vi') || ', ' || (d.name->>'vi'))"""
    assert _scalar(demo_db, wrong) == 0
    assert _scalar(demo_db, "SELECT count(*) FROM projects WHERE title LIKE '%Phường %'") == (
        PROJECTS
    )


def test_agencies_are_named_in_each_language_with_generic_codes(demo_db: str) -> None:
    agencies = _rows(demo_db, "SELECT code, name FROM agencies").set_index("code")["name"]
    assert agencies["DN-TRANSPORT"] == {
        "vi": "Sở Giao thông vận tải",
        "en": "Department of Transport",
    }
    assert agencies["DN-WATER"] == {"vi": "Công ty Cấp nước", "en": "Water Supply Company"}
    assert agencies["DN-490-OFFICE"] == {
        "vi": "Ủy ban nhân dân Quận Hải Châu",
        "en": "Hai Chau District Office",
    }
    assert agencies["DN-493-OFFICE"]["vi"] == "Ủy ban nhân dân Quận Sơn Trà"
    used = _rows(demo_db, "SELECT DISTINCT agency_code FROM projects")["agency_code"]
    assert set(used) <= set(agencies.index)
    assert {"DN-490-OFFICE", "DN-493-OFFICE", "DN-TRANSPORT"} <= set(used)


def test_times_are_office_hours_in_ho_chi_minh_time(demo_db: str) -> None:
    hours = _rows(
        demo_db,
        """
        SELECT extract(hour FROM created_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS created,
               extract(hour FROM updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS updated
        FROM projects""",
    )
    # 09:00-18:00 local; in Seoul's time (UTC+9) some would fall before 9 in Da Nang.
    assert hours.min().min() == 9 and hours.max().max() == 17
    engine = engine_for(demo_db)
    with engine.connect() as conn:
        conn.execute(text("SET TIME ZONE 'Asia/Ho_Chi_Minh'"))
        shown = conn.execute(text("SELECT created_at::text FROM projects LIMIT 1")).scalar_one()
    engine.dispose()
    assert shown.endswith("+07")


def test_lengths_are_measured_at_the_citys_latitude(demo_db: str) -> None:
    """The length a line work's description gives is its length on the ground (rounded to
    10 m), not one measured at Seoul's latitude, which is up to 17 % short at Da Nang's."""
    lines = _rows(
        demo_db,
        """
        SELECT description, ST_Length(geom::geography) AS metres FROM projects
        WHERE GeometryType(geom) = 'LINESTRING'""",
    )
    said = lines["description"].str.extract(r"(\d{1,3}(?:\.\d{3})*) m ")[0]
    assert said.notna().all() and len(said) > PROJECTS / 3
    said = said.str.replace(".", "", regex=False).astype(float)
    assert ((said - lines["metres"]).abs() <= 5.5 + 0.008 * lines["metres"]).all()


@pytest.mark.parametrize(
    ("currency", "budget", "least", "paid"),
    [
        ("VND", 25_000_000_000, 380_000_000, 12_350_000),  # tens of millions; 10,000 đồng
        ("KRW", 1_350_000_000, 20_000_000, 12_346_000),  # millions; 1,000 won
        ("USD", 1_000_000, 15_000, 12_345_679),  # a currency with cents: whole dollars
        ("XOF", 1_000_000, 15_000, 12_345_679),  # no rate: 1.0
    ],
)
def test_money_is_converted_and_rounded_for_the_currency(
    currency: str, budget: int, least: int, paid: int
) -> None:
    """A median of a million dollars, and one of a dollar (raised to the least budget)."""
    money = Money(currency)
    made = money.budgets(np.array([1_000_000.0, 1.0]), np.array([1.0, 1.0]))
    assert made.tolist() == [budget, least]
    assert money.column(np.array([12_345_678.9, np.nan])).tolist() == [paid, pd.NA]


def test_a_language_without_a_catalogue_gets_the_english_one(tmp_path: Path) -> None:
    city = read_city(danang.write_files(tmp_path)).model_copy(update={"languages": ["ko"]})
    catalogue = catalogue_for(stored(city))
    assert catalogue.language == "en"
    assert catalogue.texts.works["road"][0].title == "Road resurfacing in {place}"
    assert catalogue.names == {"en": catalogue.texts}
    both = catalogue_for(stored(city.model_copy(update={"languages": ["en", "vi"]})))
    assert (both.language, sorted(both.names)) == ("en", ["en", "vi"])


SEEN_AS = re.compile(r"[\u3131-\u318e\uac00-\ud7a3]|Seoul|KRW|₩")


def test_the_demo_city_is_shown_in_its_own_words_everywhere(demo_db: str, browser) -> None:
    """The portal over the demo: every API answer, disclosure, sheet and sample document, and
    the web map in a browser, in Vietnamese and đồng, with nothing of Seoul or Korean."""
    settings = Settings(database_url=demo_db, rate_per_s=10_000, rate_burst=10_000)
    for server in serve(settings):
        listed = server.http.get("/api/projects", params={"limit": 100, "sort": "-budget"}).json()
        codes = [f["id"] for f in listed["features"]][:4]
        documents = [
            d["url"]
            for code in codes
            for d in server.http.get(f"/api/projects/{code}").json()["properties"]["documents"]
        ]
        paths = [
            "/",
            "/api/config",
            "/api/layers",
            "/api/districts",
            "/api/layers/districts/features",
            "/api/layers/projects/features",
            *(f"/api/projects/{code}" for code in codes),
            *(f"/projects/{code}/sheet" for code in codes),
            *documents,
        ]
        for path in paths:
            response = server.http.get(path)
            assert response.status_code == 200, path
            assert SEEN_AS.findall(response.text) == [], path
        sheet = server.http.get(f"/projects/{codes[0]}/sheet").text
        assert '<html lang="vi">' in sheet and "₫" in sheet and VIETNAMESE.search(sheet)

        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="vi-VN")
        texts: list[str] = []

        def keep_json(response: Response, into: list[str] = texts) -> None:
            if "json" in response.headers.get("content-type", ""):
                into.append(response.text())

        page.on("response", keep_json)
        page.goto(f"{server.base}/")
        page.wait_for_selector("body[data-ready=true]", timeout=20_000)
        page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "danang-demo-map.png"))
        page.goto(f"{server.base}/?project={codes[0]}")
        page.locator("article.disclosure").wait_for()
        page.screenshot(path=str(ARTIFACTS / "danang-demo-disclosure.png"))
        shown = page.evaluate("() => document.title + document.body.innerText")
        assert listed["features"][0]["properties"]["title"] in shown
        assert "tỷ ₫" in shown.replace("\u00a0", " ")
        assert SEEN_AS.findall(shown) == []
        assert len(texts) >= 3  # config, layers and districts at least
        assert [t for t in texts if SEEN_AS.search(t)] == []
        page.close()
