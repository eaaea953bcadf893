"""Money and numbers by one set of cases (formatting_cases.json) on both sides: the server's
geo/formatting.py, and the browser's web/static/js/format.js in Debian's Chromium on the portal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page

from geo.formatting import Formatter
from tests.conftest import Server

CASES = json.loads((Path(__file__).parent / "formatting_cases.json").read_text("utf-8"))
SEOUL = ZoneInfo("Asia/Seoul")
NBSP = "\u00a0"  # every space in a formatted text
# Calls one function of format.js, the module the portal's pages import.
CALL = 'async ([name, args]) => (await import("/static/js/format.js"))[name](...args)'


def _id(case: dict[str, Any]) -> str:
    return "-".join(str(case[key]) for key in ("locale", "currency", "value") if key in case)


def _as_number(value: str) -> float | None:
    """``value`` as a JSON number, when a float carries it exactly as written."""
    number = float(value)
    return number if Decimal(repr(number)) == Decimal(value) else None


@pytest.fixture(scope="module")
def page(browser: Browser, server: Server) -> Iterator[Page]:
    page = browser.new_page()
    page.goto(f"{server.base}/")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    yield page
    page.close()


def js(page: Page, name: str, *args: object) -> str:
    return page.evaluate(CALL, [name, list(args)])


@pytest.mark.parametrize("case", CASES["money"], ids=_id)
def test_money_in_python(case: dict[str, str]) -> None:
    fmt = Formatter(case["locale"], case["currency"], SEOUL)
    assert fmt.money(Decimal(case["value"])) == case["money"]
    assert fmt.exact(Decimal(case["value"])) == case["exact"]


@pytest.mark.parametrize("case", CASES["money"], ids=_id)
def test_money_in_the_browser(page: Page, case: dict[str, str]) -> None:
    locale, currency = case["locale"], case["currency"]
    number = _as_number(case["value"])
    for amount in (case["value"], number) if number is not None else (case["value"],):
        assert js(page, "money", amount, currency, locale) == case["money"]
        assert js(page, "exactMoney", amount, currency, locale) == case["exact"]


@pytest.mark.parametrize("case", CASES["percent"], ids=_id)
def test_percent_in_python(case: dict[str, str]) -> None:
    assert Formatter(case["locale"], "KRW", SEOUL).pct(Decimal(case["value"])) == case["percent"]


@pytest.mark.parametrize("case", CASES["percent"], ids=_id)
def test_percent_in_the_browser(page: Page, case: dict[str, str]) -> None:
    assert js(page, "percent", case["value"], case["locale"]) == case["percent"]
    assert js(page, "percent", float(case["value"]), case["locale"]) == case["percent"]


@pytest.mark.parametrize("case", CASES["count"], ids=_id)
def test_count_in_python(case: dict[str, Any]) -> None:
    assert Formatter(case["locale"], "KRW", SEOUL).count(case["value"]) == case["count"]


@pytest.mark.parametrize("case", CASES["count"], ids=_id)
def test_count_in_the_browser(page: Page, case: dict[str, Any]) -> None:
    assert js(page, "count", case["value"], case["locale"]) == case["count"]


def test_nothing_is_a_dash_on_both_sides(page: Page) -> None:
    fmt = Formatter("ko", "KRW", SEOUL)
    assert [fmt.money(None), fmt.exact(None), fmt.pct(None), fmt.count(None)] == ["—"] * 4
    assert [fmt.day(None), fmt.day("")] == ["—"] * 2
    assert [
        js(page, "money", None, "KRW", "ko"),
        js(page, "exactMoney", None, "KRW", "ko"),
        js(page, "percent", None, "ko"),
        js(page, "count", None, "ko"),
    ] == ["—"] * 4


@pytest.mark.parametrize(
    ("locale", "written"),
    [
        ("ko", "2026. 1. 5."),
        ("en-GB", "5 Jan 2026"),
        ("en", "Jan 5, 2026"),
        ("vi", "5 thg 1, 2026"),
    ],
)
def test_a_date_in_the_medium_format(locale: str, written: str) -> None:
    assert Formatter(locale, "KRW", SEOUL).day("2026-01-05") == written.replace(" ", NBSP)


def test_a_timestamp_is_dated_in_the_formatters_time_zone() -> None:
    stamp = "2026-03-05T20:30:00+00:00"  # 6 March in Seoul, still 5 March in New York
    in_new_york = Formatter("en-GB", "KRW", ZoneInfo("America/New_York"))
    assert Formatter("en-GB", "KRW", SEOUL).day(stamp) == f"6{NBSP}Mar{NBSP}2026"
    assert in_new_york.day(stamp) == f"5{NBSP}Mar{NBSP}2026"
    assert (
        Formatter("ko", "KRW", SEOUL).day("2026-03-05T23:59:59+09:00") == f"2026.{NBSP}3.{NBSP}5."
    )


def test_the_browser_writes_an_instant_as_its_day_in_the_citys_time_zone(page: Page) -> None:
    stamp = "2026-03-05T20:30:00+00:00"  # 05:30 on the 6th in Seoul, 15:30 on the 5th in NY
    days = [
        js(page, "date", stamp, "en-GB", "Asia/Seoul"),
        js(page, "date", stamp, "en-GB", "America/New_York"),
        js(page, "date", "2026-03-05", "en-GB", "Asia/Seoul"),  # a calendar day stays itself
    ]
    assert [d.replace(NBSP, " ") for d in days] == ["6 Mar 2026", "5 Mar 2026", "5 Mar 2026"]


@pytest.mark.parametrize(
    ("locale", "value", "shown"),
    [
        ("en", 9999, "9,999"),
        ("en", 24487, "24.5K"),
        ("en", 1076262, "1.08M"),
        ("ko", 1076262, "108만"),
        ("ko", 39833087, "3980만"),
        ("vi", 24487, "24,5 N"),
    ],
)
def test_a_map_markers_count_is_compact_from_ten_thousand(
    page: Page, locale: str, value: int, shown: str
) -> None:
    """A cluster of a million works fits its marker: three digits and the locale's unit."""
    assert js(page, "compact", value, locale) == shown.replace(" ", NBSP)
