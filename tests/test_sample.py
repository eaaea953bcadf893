"""The synthetic demo city: deterministic, valid, inside Seoul, and with something to find."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text

from geo.boundaries import read_levels
from geo.errors import AllimiError
from geo.jurisdiction import SEOUL, City, Jurisdiction, read_city
from geo.sample.catalogue import catalogue_for
from geo.sample.generator import SampleSpec, generate
from geo.sample.loader import load_sample
from geo.store.database import engine_for
from tests.conftest import city_database

AS_OF = date(2026, 5, 1)


def stored(city: City) -> Jurisdiction:
    """The jurisdiction ``city`` would be stored as."""
    fields = city.model_dump(include=set(Jurisdiction.model_fields) - {"levels"})
    return Jurisdiction(**fields, levels=[level.label for level in city.levels])


SEOUL_AREAS = read_levels(read_city(SEOUL).sources(), repair=True)
DISTRICTS = [a for a in SEOUL_AREAS if a.level == 1]
DONGS = [a for a in SEOUL_AREAS if a.level == 2]
CATALOGUE = catalogue_for(stored(read_city(SEOUL)))


def _frames(spec: SampleSpec) -> list[pd.DataFrame]:
    batches = list(generate(spec, CATALOGUE, DISTRICTS, DONGS))
    return [
        pd.concat([getattr(b, part) for b in batches], ignore_index=True)
        for part in ("projects", "reports", "documents")
    ]


def test_same_seed_same_city() -> None:
    spec = SampleSpec(projects=1200, seed=7, as_of=AS_OF)
    for first, second in zip(_frames(spec), _frames(spec), strict=True):
        pd.testing.assert_frame_equal(first, second)


def test_other_seed_other_city() -> None:
    one = _frames(SampleSpec(projects=300, seed=7, as_of=AS_OF))[0]
    two = _frames(SampleSpec(projects=300, seed=8, as_of=AS_OF))[0]
    assert (one["geom"] != two["geom"]).mean() > 0.95
    assert len(one) == len(two) == 300
    assert one["code"].is_unique


@pytest.fixture(scope="module")
def sample_db(settings) -> str:
    from geo.store.database import drop_database

    url = city_database(settings, "allimi_test_sample", read_city(SEOUL))
    load_sample(url, SampleSpec(projects=2500, seed=11, as_of=AS_OF))
    yield url
    drop_database(url)


def _scalar(url: str, sql: str) -> object:
    engine = engine_for(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def test_loaded_geometries_are_valid_and_inside_their_district(sample_db: str) -> None:
    assert _scalar(sample_db, "SELECT count(*) FROM projects") == 2500
    assert _scalar(sample_db, "SELECT count(*) FROM districts WHERE level = 1") == 25
    assert _scalar(sample_db, "SELECT count(*) FROM districts WHERE level = 2") == 467
    assert _scalar(sample_db, "SELECT count(*) FROM projects WHERE NOT ST_IsValid(geom)") == 0
    assert (
        _scalar(
            sample_db,
            """
        SELECT count(*) FROM projects p
        WHERE NOT ST_Within(p.geom, (SELECT ST_Union(geom) FROM districts WHERE level = 1))""",
        )
        == 0
    )
    assert (
        _scalar(
            sample_db,
            """
        SELECT count(*) FROM projects p JOIN districts d ON d.code = p.district_code
        WHERE NOT ST_Within(p.geom, d.geom)""",
        )
        == 0
    )
    kinds = _scalar(sample_db, "SELECT count(DISTINCT GeometryType(geom)) FROM projects")
    assert kinds == 3


def test_everything_is_labelled_sample(sample_db: str) -> None:
    assert _scalar(sample_db, "SELECT bool_and(is_sample) FROM projects") is True


@pytest.mark.parametrize(
    "condition",
    [
        "spent > budget",
        "status = 'implementation' AND progress_actual + 10 < progress_planned",
        "status = 'implementation' AND updated_at < DATE '2026-05-01' - 60",
        "status = 'completion' AND actual_end IS NOT NULL",
        "status IN ('preparation', 'identification') AND planned_start > DATE '2026-05-01'",
    ],
    ids=["over budget", "behind schedule", "stale", "completed", "planned"],
)
def test_the_city_has_each_kind_of_project(sample_db: str, condition: str) -> None:
    share = _scalar(sample_db, f"SELECT avg(({condition})::int) FROM projects")
    assert 0.005 < share < 0.6  # type: ignore[operator]


def test_some_works_overlap_in_space_and_time(sample_db: str) -> None:
    pairs = _scalar(
        sample_db,
        """
        SELECT count(*) FROM projects a JOIN projects b
          ON a.id < b.id AND ST_DWithin(a.geom::geography, b.geom::geography, 10)
         AND daterange(a.planned_start, a.planned_end, '[]')
             && daterange(b.planned_start, b.planned_end, '[]')""",
    )
    assert pairs >= 50  # type: ignore[operator]


def test_reports_end_at_the_current_progress(sample_db: str) -> None:
    mismatched = _scalar(
        sample_db,
        """
        SELECT count(*) FROM projects p
        JOIN LATERAL (SELECT actual, reported_on FROM progress_reports r
                      WHERE r.project_id = p.id ORDER BY reported_on DESC LIMIT 1) last ON true
        WHERE last.actual <> p.progress_actual OR last.reported_on > p.updated_at::date""",
    )
    assert mismatched == 0
    assert (
        _scalar(
            sample_db,
            """
        SELECT count(*) FROM projects p WHERE status = 'implementation'
        AND NOT EXISTS (SELECT 1 FROM progress_reports r WHERE r.project_id = p.id)""",
        )
        == 0
    )
    assert (
        _scalar(
            sample_db,
            """
        SELECT count(*) FROM projects p
        WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.project_id = p.id)""",
        )
        == 0
    )


def test_loading_twice_needs_replace(sample_db: str) -> None:
    with pytest.raises(AllimiError, match="already holds 2500 projects"):
        load_sample(sample_db, SampleSpec(projects=10, seed=1, as_of=AS_OF))
    assert _scalar(sample_db, "SELECT count(*) FROM projects") == 2500


def test_seoul_keeps_its_agencies_codes_and_words(sample_db: str) -> None:
    assert _scalar(sample_db, "SELECT name FROM agencies WHERE code = 'SMG-WATER'") == {
        "ko": "서울특별시 상수도사업본부",
        "en": "Seoul Waterworks Headquarters",
    }
    assert _scalar(sample_db, "SELECT name FROM agencies WHERE code = 'GU-11680'") == {
        "ko": "강남구청",
        "en": "Gangnam-gu Office",
    }
    assert (
        _scalar(
            sample_db,
            r"""
        SELECT bool_and(code ~ '^SEOUL-20\d\d-\d{6}$' AND currency = 'KRW'
                        AND address LIKE '서울특별시 %구 % 일대' AND budget % 1000000 = 0
                        AND title ~ '[가-힣]' AND description LIKE '%합성 예시 자료입니다%'
                        AND extract(hour FROM created_at AT TIME ZONE 'Asia/Seoul') >= 9)
        FROM projects""",
        )
        is True
    )
    median = _scalar(
        sample_db, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY budget) FROM projects"
    )
    assert 3e8 < median < 3e9  # type: ignore[operator]
