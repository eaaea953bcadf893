"""Admins keep the agencies and the accounts, over the API and on the admin page; each refusal
names every field at fault and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, text

from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests.conftest import PASSWORD, Server, hand_made_city, problem, serve, signed_in
from tests.test_web import _axe, csp_violations, shot, watched

ACCOUNT_KEYS = {"id", "email", "name", "role", "agency", "contractor", "active", "created_at"}


@dataclass(frozen=True)
class Site:
    server: Server
    engine: Engine
    tokens: dict[str, str]  # who -> bearer token
    ids: dict[str, int]  # who -> account id

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str) -> httpx.Response:
        return self.server.http.get(path, headers=self.as_("admin"))

    def post(self, path: str, body: dict) -> httpx.Response:
        return self.server.http.post(path, json=body, headers=self.as_("admin"))

    def patch(self, path: str, body: dict) -> httpx.Response:
        return self.server.http.patch(path, json=body, headers=self.as_("admin"))

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[Site]:
    """The hand-made test city in a database of its own (these tests change it), with one
    admin and one official."""
    name = "allimi_test_admin"
    url = hand_made_city(settings, name)
    engine = engine_for(url)
    with engine.begin() as conn:
        people = signed_in(conn, [("admin", "admin"), ("roads", "official", "TEST-ROADS")])
    tokens = {who: token for who, (_, token) in people.items()}
    ids = {who: number for who, (number, _) in people.items()}
    for running in serve(
        Settings(database_url=url, version_ttl=0, signin_failures_per_address=10_000)
    ):
        yield Site(running, engine, tokens, ids)
    engine.dispose()
    drop_database(url)


def _sign_in(site: Site, email: str, password: str = PASSWORD) -> httpx.Response:
    return site.server.http.post("/api/auth/token", data={"username": email, "password": password})


def _me(site: Site, token: str) -> httpx.Response:
    return site.server.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


def _account(site: Site, email: str, role: str = "planner", **more: str) -> dict:
    made = site.post(
        "/api/admin/users",
        {"email": email, "name": email.split("@")[0], "role": role, "password": PASSWORD, **more},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


# ---- agencies ----------------------------------------------------------------------------


def test_the_agencies_are_listed_with_their_names_and_officials(site: Site) -> None:
    listed = site.get("/api/admin/agencies")
    assert listed.status_code == 200
    roads = next(a for a in listed.json() if a["code"] == "TEST-ROADS")
    assert roads == {
        "code": "TEST-ROADS",
        "name": {"ko": "시험 도로과", "en": "Test Roads Office"},
        "phone": "02-000-0001",
        "officials": 1,
    }


def test_an_admin_adds_an_agency_and_changes_its_name_and_phone(site: Site) -> None:
    made = site.post(
        "/api/admin/agencies",
        {"code": "TEST-PARKS", "name": {"ko": " 시험 공원과 "}, "phone": "02-000-0003"},
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "code": "TEST-PARKS",
        "name": {"ko": "시험 공원과"},
        "phone": "02-000-0003",
        "officials": 0,
    }
    changed = site.patch(
        "/api/admin/agencies/TEST-PARKS",
        {"name": {"ko": "시험 공원녹지과", "en": "Test Parks Office"}, "phone": ""},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == {"ko": "시험 공원녹지과", "en": "Test Parks Office"}
    assert changed.json()["phone"] is None
    phone_only = site.patch("/api/admin/agencies/TEST-PARKS", {"phone": "+82 2 000 0003"})
    assert (phone_only.json()["phone"], phone_only.json()["name"]["en"]) == (
        "+82 2 000 0003",
        "Test Parks Office",
    )
    listed = {a["code"]: a for a in site.get("/api/admin/agencies").json()}
    assert listed["TEST-PARKS"]["phone"] == "+82 2 000 0003"


def test_an_agency_code_is_taken_once(site: Site) -> None:
    again = site.post("/api/admin/agencies", {"code": "TEST-WATER", "name": {"ko": "또 상수도"}})
    assert problem(again, 409) == ["code"]
    with site.engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM agencies WHERE code = 'TEST-WATER'")).scalar()
    assert name == {"ko": "시험 상수도과", "en": "Test Water Office"}


def test_bad_agency_fields_are_each_named(site: Site) -> None:
    before = site.count("agencies")
    bad = {"code": "no spaces!", "name": {"en": " ", "fr": "Parcs"}, "phone": "call us"}
    refused = site.post("/api/admin/agencies", bad)
    assert problem(refused, 422) == ["code", "name.en", "name.fr", "name.ko", "phone"]
    assert "ko, en" in refused.json()["detail"]  # the city's languages are named
    assert problem(site.post("/api/admin/agencies", {"code": "X"}), 422) == ["name"]
    nul = site.post("/api/admin/agencies", {"code": "X", "name": {"ko": "가\x00"}})
    assert problem(nul, 422) == ["name.ko"]
    unknown = site.post("/api/admin/agencies", {"code": "X", "name": {"ko": "가"}, "fax": "1"})
    assert problem(unknown, 422) == ["fax"]
    assert site.count("agencies") == before


def test_changing_an_agency_that_does_not_exist_is_404(site: Site) -> None:
    missing = site.patch("/api/admin/agencies/NOWHERE", {"phone": "02-000-0009"})
    assert problem(missing, 404) == ["code"]
    nameless = site.patch("/api/admin/agencies/TEST-WATER", {"name": {"en": "Water"}})
    assert problem(nameless, 422) == ["name.ko"]


# ---- accounts ----------------------------------------------------------------------------


def test_accounts_are_listed_without_their_passwords(site: Site) -> None:
    listed = site.get("/api/admin/users")
    assert listed.status_code == 200
    assert all(set(a) == ACCOUNT_KEYS for a in listed.json())
    roads = next(a for a in listed.json() if a["email"] == "roads@allimi.test")
    assert (roads["role"], roads["agency"], roads["active"]) == ("official", "TEST-ROADS", True)
    assert "argon2" not in listed.text


def test_an_admin_adds_an_official_who_can_then_sign_in(site: Site) -> None:
    made = _account(site, "water@allimi.test", "official", agency="TEST-WATER")
    assert set(made) == ACCOUNT_KEYS
    assert (made["role"], made["agency"], made["contractor"], made["active"]) == (
        "official",
        "TEST-WATER",
        None,
        True,
    )
    token = _sign_in(site, "water@allimi.test").json()["access_token"]
    assert _me(site, token).json()["agency"] == "TEST-WATER"


def test_an_e_mail_address_has_one_account(site: Site) -> None:
    _account(site, "twice@allimi.test")
    before = site.count("users")
    again = site.post(
        "/api/admin/users",
        {"email": "TWICE@allimi.test", "name": "again", "role": "planner", "password": PASSWORD},
    )
    assert problem(again, 409) == ["email"]
    assert site.count("users") == before


def test_bad_account_fields_are_each_named(site: Site) -> None:
    before = site.count("users")
    bad = {
        "email": "not an address",
        "name": " ",
        "role": "mayor",
        "password": "short",
        "contractor": "(주)시험건설",
    }
    refused = site.post("/api/admin/users", bad)
    assert problem(refused, 422) == ["email", "name", "role", "contractor", "password"]
    no_agency = site.post(
        "/api/admin/users",
        {"email": "x@allimi.test", "name": "x", "role": "official", "password": PASSWORD,
         "agency": "NOWHERE"},
    )  # fmt: skip
    assert problem(no_agency, 422) == ["agency"]
    missing = site.post("/api/admin/users", {"email": "y@allimi.test"})
    assert problem(missing, 422) == ["name", "role", "password"]
    assert site.count("users") == before


def test_an_admin_changes_an_accounts_role_and_name(site: Site) -> None:
    made = _account(site, "mover@allimi.test", "official", agency="TEST-ROADS")
    path = f"/api/admin/users/{made['id']}"
    half = site.patch(path, {"role": "contractor"})  # still of an agency, naming no company
    assert problem(half, 422) == ["agency", "contractor"]
    moved = site.patch(
        path, {"role": "contractor", "agency": None, "contractor": "(주)시험건설", "name": "Mover"}
    )
    assert moved.status_code == 200, moved.text
    assert {k: moved.json()[k] for k in ("name", "role", "agency", "contractor")} == {
        "name": "Mover",
        "role": "contractor",
        "agency": None,
        "contractor": "(주)시험건설",
    }
    assert problem(site.patch(path, {"email": "new@allimi.test"}), 422) == ["email"]
    assert problem(site.patch(path, {"contractor": "  "}), 422) == ["contractor"]  # blank: none
    planner = site.patch(path, {"role": "planner", "agency": "", "contractor": " "})
    assert (planner.json()["agency"], planner.json()["contractor"]) == (None, None)
    assert problem(site.patch(path, {"name": "Mover\x00"}), 422) == ["name"]
    assert problem(site.patch("/api/admin/users/999999", {"name": "Nobody"}), 404) == ["id"]


def test_disabling_an_account_revokes_its_token_at_once(site: Site) -> None:
    made = _account(site, "leaver@allimi.test")
    token = _sign_in(site, "leaver@allimi.test").json()["access_token"]
    assert _me(site, token).status_code == 200
    off = site.patch(f"/api/admin/users/{made['id']}", {"active": False})
    assert (off.status_code, off.json()["active"]) == (200, False)
    assert problem(_me(site, token), 401) == ["Authorization"]
    assert problem(_sign_in(site, "leaver@allimi.test"), 401) == ["password"]
    on = site.patch(f"/api/admin/users/{made['id']}", {"active": True})
    assert on.json()["active"] is True
    assert problem(_me(site, token), 401) == ["Authorization"]  # revoked, not just paused
    assert _sign_in(site, "leaver@allimi.test").status_code == 200


def test_an_admin_gives_an_account_a_new_password(site: Site) -> None:
    made = _account(site, "forgetful@allimi.test")
    token = _sign_in(site, "forgetful@allimi.test").json()["access_token"]
    path = f"/api/admin/users/{made['id']}"
    assert problem(site.patch(path, {"password": "too short"}), 422) == ["password"]
    assert _me(site, token).status_code == 200  # a refused reset changes nothing
    assert site.patch(path, {"password": "a brand new passphrase"}).status_code == 200
    assert problem(_me(site, token), 401) == ["Authorization"]
    assert problem(_sign_in(site, "forgetful@allimi.test"), 401) == ["password"]
    assert _sign_in(site, "forgetful@allimi.test", "a brand new passphrase").status_code == 200


def test_the_portal_keeps_an_active_admin(site: Site) -> None:
    with site.engine.connect() as conn:
        admins = conn.execute(text("SELECT id FROM users WHERE role = 'admin' AND active"))
        assert [r[0] for r in admins] == [site.ids["admin"]]
    path = f"/api/admin/users/{site.ids['admin']}"
    assert problem(site.patch(path, {"active": False}), 409) == ["active"]
    assert problem(site.patch(path, {"role": "planner"}), 409) == ["role"]
    assert site.get("/api/admin/users").status_code == 200  # still an admin, still signed in


def test_only_admins_may_keep_accounts(site: Site) -> None:
    refused = site.server.http.get("/api/admin/users", headers=site.as_("roads"))
    assert problem(refused, 403) == ["Authorization"]
    anonymous = site.server.http.post("/api/admin/agencies", json={"code": "X"})
    assert problem(anonymous, 401) == ["Authorization"]


# ---- the admin page ----------------------------------------------------------------------


def test_an_admin_adds_an_agency_and_its_official_on_the_admin_page(
    browser: Browser, site: Site
) -> None:
    page = watched(browser, 1280, 1000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.server.base}/admin?lang=en")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#signed-in")).to_be_hidden()  # nothing but the sign-in without a token
    signing_in = page.locator("#sign-in")
    signing_in.get_by_label("E-mail address").fill("admin@allimi.test")
    signing_in.get_by_label("Password").fill(PASSWORD)
    signing_in.get_by_label("Password").press("Enter")
    expect(page.locator("#agencies tbody")).to_contain_text("Test Roads Office")
    assert page.evaluate("sessionStorage.getItem('allimi.adminToken')")
    assert _axe(page) == []

    agency = page.locator("#agency-form")
    agency.get_by_label("Code").fill("TEST-BRIDGES")
    agency.get_by_label("Name (English)", exact=True).fill("Test Bridges Office")
    agency.get_by_role("button", name="Save").click()  # no Korean name yet: the API says so
    expect(agency.locator(".field-error")).to_have_text(
        ["the name in the city's default language is needed"]
    )
    agency.get_by_label("Name (한국어, required)").fill("시험 교량과")
    agency.get_by_label("Phone").fill("02-000-0004")
    agency.get_by_role("button", name="Save").click()
    expect(agency.get_by_role("status")).to_have_text("Agency TEST-BRIDGES saved.")
    expect(page.locator("#agencies tbody")).to_contain_text("Test Bridges Office")

    account = page.locator("#account-form")
    account.get_by_label("E-mail address").fill("bridges@allimi.test")
    account.get_by_label("Name", exact=True).fill("Bridges official")
    account.get_by_label("Role").select_option("official")
    account.get_by_label("Agency").select_option("TEST-BRIDGES")
    account.get_by_label("Password").fill("too short")
    account.get_by_role("button", name="Save").click()
    expect(account.locator(".field-error")).to_have_text(["a password has at least 12 characters"])
    expect(account.get_by_label("Password")).to_be_focused()
    expect(agency.get_by_role("status")).to_be_empty()  # the agency's "saved" is old news
    shot(page, "admin-refused")
    account.get_by_label("Password").fill("the bridges' own passphrase")
    account.get_by_role("button", name="Save").click()
    expect(account.get_by_role("status")).to_have_text("Account bridges@allimi.test saved.")
    row = page.locator("#accounts tbody tr", has_text="bridges@allimi.test")
    expect(row).to_contain_text("Test Bridges Office (TEST-BRIDGES)")
    expect(row).to_contain_text("Active")
    assert _axe(page) == []
    shot(page, "admin")
    assert (errors, csp_violations(page)) == ([], [])

    granted = _sign_in(site, "bridges@allimi.test", "the bridges' own passphrase")
    assert granted.status_code == 200, granted.text
    me = _me(site, granted.json()["access_token"]).json()
    assert (me["role"], me["agency"]) == ("official", "TEST-BRIDGES")
