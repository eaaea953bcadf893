"""CQL2 filters: each returns exactly what the equivalent SQL returns, and anything but a
comparison of queryables with values is a 400 naming ``filter``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geo.cql2 import (
    MAX_BRACKETS,
    MAX_LENGTH,
    FilterError,
    Queryable,
    condition,
    depth,
    parse,
    parse_date,
    parse_timestamp,
)
from geo.flags import any_flag
from layers.items import DATETIME, parse_datetime
from tests.conftest import problem

ITEMS = "/ogc/collections/projects/items"
# Thirty days ago, as the fixtures' update times are written relative to now
MONTH_AGO = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
BOX = "126.99, 37.49, 127.01, 37.51"
AROUND_LIBRARY = "POLYGON((127.009 37.509, 127.012 37.509, 127.012 37.512, 127.009 37.509))"


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def op(name: str, *args: Any) -> dict[str, Any]:
    return {"op": name, "args": list(args)}


# CQL2 text, the same as CQL2 JSON, and the SQL over ``projects p`` it means
FILTERS: list[tuple[str, dict[str, Any], str]] = [
    ("status = 'implementation'", op("=", prop("status"), "implementation"),
     "p.status = 'implementation'"),
    ("budget > 900000000 AND category <> 'road'",
     op("and", op(">", prop("budget"), 900000000), op("<>", prop("category"), "road")),
     "p.budget > 900000000 AND p.category <> 'road'"),
    ("900000000 < budget", op("<", 900000000, prop("budget")), "p.budget > 900000000"),
    ("title LIKE '%공사'", op("like", prop("title"), "%공사"), "p.title LIKE '%공사'"),
    ("code LIKE 'FIX-%' AND NOT code LIKE '%SEWER%'",
     op("and", op("like", prop("code"), "FIX-%"),
        op("not", op("like", prop("code"), "%SEWER%"))),
     "p.code LIKE 'FIX-%' AND p.code NOT LIKE '%SEWER%'"),
    ("category IN ('road', 'park')", op("in", prop("category"), ["road", "park"]),
     "p.category IN ('road', 'park')"),
    ("NOT (status = 'implementation') OR flagged = TRUE",
     op("or", op("not", op("=", prop("status"), "implementation")),
        op("=", prop("flagged"), True)),
     f"p.status <> 'implementation' OR {any_flag('p')}"),
    ("flagged = FALSE", op("=", prop("flagged"), False), f"NOT {any_flag('p')}"),
    ("planned_start BETWEEN DATE('2026-01-01') AND DATE('2026-12-31')",
     op("between", prop("planned_start"), {"date": "2026-01-01"}, {"date": "2026-12-31"}),
     "p.planned_start BETWEEN '2026-01-01' AND '2026-12-31'"),
    ("actual_end IS NULL", op("isNull", prop("actual_end")), "p.actual_end IS NULL"),
    # as QGIS writes them: names quoted, dates as DATE()
    ('"status" = \'implementation\' AND "planned_start" >= DATE(\'2026-02-01\')',
     op("and", op("=", prop("status"), "implementation"),
        op(">=", prop("planned_start"), {"date": "2026-02-01"})),
     "p.status = 'implementation' AND p.planned_start >= '2026-02-01'"),
    ("actual_start IS NOT NULL", op("not", op("isNull", prop("actual_start"))),
     "p.actual_start IS NOT NULL"),
    ("progress_actual >= 40 AND progress_actual < 100",
     op("and", op(">=", prop("progress_actual"), 40), op("<", prop("progress_actual"), 100)),
     "p.progress_actual >= 40 AND p.progress_actual < 100"),
    (f"updated_at < TIMESTAMP('{MONTH_AGO}')",
     op("<", prop("updated_at"), {"timestamp": MONTH_AGO}),
     f"p.updated_at < '{MONTH_AGO}'"),
    ("contractor = '(주)한빛시험토건' OR address = 'it''s nowhere'",
     op("or", op("=", prop("contractor"), "(주)한빛시험토건"),
        op("=", prop("address"), "it's nowhere")),
     "p.contractor = '(주)한빛시험토건'"),
    ("title = 'x''; DROP TABLE projects; --'",
     op("=", prop("title"), "x'; DROP TABLE projects; --"), "false"),
    ("id = 1 OR id IN (2, 3)", op("or", op("=", prop("id"), 1), op("in", prop("id"), [2, 3])),
     "p.id IN (1, 2, 3)"),
    (f"S_INTERSECTS(geometry, BBOX({BOX}))",
     op("s_intersects", prop("geometry"), {"bbox": [126.99, 37.49, 127.01, 37.51]}),
     f"ST_Intersects(p.geom, ST_MakeEnvelope({BOX}, 4326))"),
    (f"S_INTERSECTS(geometry, {AROUND_LIBRARY})",
     op("s_intersects", prop("geometry"), {"type": "Polygon", "coordinates": [
         [[127.009, 37.509], [127.012, 37.509], [127.012, 37.512], [127.009, 37.509]]]}),
     f"ST_Intersects(p.geom, ST_GeomFromText('{AROUND_LIBRARY}', 4326))"),
    ("S_INTERSECTS(geometry, POINT(127.0005 37.50005)) AND category = 'water'",
     op("and", op("s_intersects", prop("geometry"),
                  {"type": "Point", "coordinates": [127.0005, 37.50005]}),
        op("=", prop("category"), "water")),
     "ST_Intersects(p.geom, ST_GeomFromText('POINT(127.0005 37.50005)', 4326)) "
     "AND p.category = 'water'"),
]  # fmt: skip


def _sql_codes(engine, where: str) -> list[str]:
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT code FROM projects p WHERE p.published AND ({where}) ORDER BY code")
        )
        return [row[0] for row in found]


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(f["properties"]["code"] for f in response.json()["features"])


@pytest.mark.parametrize(("cql2_text", "cql2_json", "sql"), FILTERS, ids=[f[0] for f in FILTERS])
def test_a_filter_returns_what_its_sql_returns(server, engine, cql2_text, cql2_json, sql) -> None:
    expected = _sql_codes(engine, sql)
    as_text = server.http.get(ITEMS, params={"filter": cql2_text, "limit": 1000})
    as_json = server.http.get(
        ITEMS,
        params={"filter": json.dumps(cql2_json), "filter-lang": "cql2-json", "limit": 1000},
    )
    assert _codes(as_text) == expected
    assert _codes(as_json) == expected


def test_the_filters_select_something_and_not_everything(engine) -> None:
    """The cases above tell filters apart: most select some projects but not all."""
    everything = _sql_codes(engine, "true")
    partial = [f for f in FILTERS if 0 < len(_sql_codes(engine, f[2])) < len(everything)]
    assert len(partial) >= len(FILTERS) - 2


def test_districts_filter_on_their_totals(server, engine) -> None:
    with engine.connect() as conn:
        expected = sorted(
            row[0]
            for row in conn.execute(
                text(
                    "SELECT d.code FROM districts d WHERE d.level = 1 AND (SELECT count(*) "
                    "FROM projects p WHERE p.published AND p.district_code = d.code) >= 1"
                )
            )
        )
    response = server.http.get(
        "/ogc/collections/districts/items", params={"filter": "projects >= 1", "limit": 1000}
    )
    assert response.status_code == 200, response.text
    assert sorted(f["properties"]["code"] for f in response.json()["features"]) == expected
    assert expected


BAD_FILTERS = [
    "nosuch = 1",  # not a queryable
    "status = category",  # two properties
    "'road' = 'road'",  # two literals
    "budget + 1 > 5",  # arithmetic
    "upper(status) = 'X'",  # a function
    "CASEI(status) = 'x'",
    "status = 5",  # the wrong kind of value
    "budget > 'a lot'",
    "budget > 1e300",
    "planned_start > '2026-01-01'",
    "planned_start > DATE('2026-02-30')",
    "updated_at > TIMESTAMP('2026-01-01')",
    "flagged > TRUE",
    "geometry = 1",
    "status LIKE 5",
    "budget LIKE '1%'",
    "S_WITHIN(geometry, POINT(127 37.5))",
    "S_INTERSECTS(status, POINT(127 37.5))",
    "S_INTERSECTS(geometry, POLYGON((127 37, 128 38, 128 37, 127 38, 127 37)))",  # self-crossing
    "S_INTERSECTS(geometry, BBOX(200, 0, 201, 1))",
    "S_INTERSECTS(geometry, BBOX(127, 38, 128, 37))",
    "T_INTERSECTS(updated_at, INTERVAL('2026-01-01', '..'))",
    "A_CONTAINS(category, ('road'))",
    "title",  # not a condition
    "TRUE",
    "status = 'implementation' AND",  # not CQL2 at all
    "'; DROP TABLE projects; --",
    "",
    "status = 'a\x00b'",
    "(" * (MAX_BRACKETS + 1) + "status = 'x'" + ")" * (MAX_BRACKETS + 1),
    "NOT " * 30 + "status = 'x'",
    "title = '" + "x" * MAX_LENGTH + "'",
]


@pytest.mark.parametrize("cql2_text", BAD_FILTERS, ids=range(len(BAD_FILTERS)))
def test_anything_but_comparing_queryables_with_values_is_refused(server, cql2_text) -> None:
    response = server.http.get(ITEMS, params={"filter": cql2_text})
    assert problem(response, 400) == ["filter"]


@pytest.mark.parametrize(
    "cql2_json",
    [
        '{"op": "=", "args": [{"property": "status"}]}',
        '{"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, "x"]}]}',
        '{"op": "=", "args": [{"property": "status"}, {"property": "category"}]}',
        '{"op": "drop", "args": []}',
        '{"op": "=", "args": [{"property": "budget"}, 1e999]}',
        "[1, 2]",
        '"status"',
        "status = 'implementation'",
        "{",
    ],
)
def test_bad_cql2_json_is_refused(server, cql2_json) -> None:
    response = server.http.get(ITEMS, params={"filter": cql2_json, "filter-lang": "cql2-json"})
    assert problem(response, 400) == ["filter"]


def test_the_language_and_crs_of_a_filter_are_checked(server) -> None:
    for name, value in (("filter-lang", "cql-text"), ("filter-crs", "EPSG:4326")):
        response = server.http.get(ITEMS, params={"filter": "status = 'x'", name: value})
        assert problem(response, 400) == [name]


# ---- the compiler itself ---------------------------------------------------------------------
QUERYABLES = {
    "status": Queryable("status", "string"),
    "budget": Queryable("budget", "number"),
    "geometry": Queryable("geom", "geometry"),
}


def test_values_travel_as_parameters_and_names_only_as_declared_columns() -> None:
    sneaky = "x'); DELETE FROM projects; --"
    query = condition(
        parse(
            f"status = '{sneaky.replace(chr(39), chr(39) * 2)}' OR budget IN (1, 2) "
            "OR S_INTERSECTS(geometry, POINT(1 2))"
        ),
        QUERYABLES,
    )
    assert sneaky not in query.sql
    assert sneaky in query.params.values()
    assert "DELETE" not in query.sql
    assert query.sql.count("%(") == 3  # one value, one list, one geometry
    with pytest.raises(FilterError, match="not a queryable"):
        condition(parse('"status; DELETE FROM projects" = 1'), QUERYABLES)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert depth("title = '((((((((((((((((((((((((((((((((((((((((((((((('") == 0
    assert depth('{"op": "=", "args": [{"property": "t"}, "((\\"(("]}') == 3
    assert depth("((a = 1) AND (b = ')'))") == 2


def test_dates_and_timestamps_are_read_strictly() -> None:
    assert parse_date("2024-02-29").isoformat() == "2024-02-29"
    assert parse_timestamp("2026-03-01T09:30:00+09:00").isoformat() == "2026-03-01T09:30:00+09:00"
    for bad in ("2023-02-29", "1900-02-29", "0000-01-01", "2026-1-01", "2026-01-01T", "tomorrow"):
        with pytest.raises(ValueError):
            parse_date(bad)
    for bad in ("2026-03-01T09:30:00", "2026-03-01T24:00:00Z", "2026-03-01 09:30:00Z"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


@settings(max_examples=100, deadline=None)
@given(st.from_regex(DATETIME, fullmatch=True))
def test_every_datetime_the_openapi_pattern_allows_is_taken(value: str) -> None:
    parse_datetime(value)


@settings(max_examples=100, deadline=None)
@given(st.dates(), st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))))
def test_every_date_and_instant_matches_the_openapi_pattern(day, moment) -> None:
    start = day.isoformat()
    end = moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else ".."
    for value in (start, f"{start}/{end}", f"../{start}", f"/{start}"):
        parsed = parse_datetime(value)
        assert parsed.start is None or parsed.start.isoformat().startswith(value[:10])
