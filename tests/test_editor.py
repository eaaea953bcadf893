"""The officials' editor in a real browser: an official signs in, draws a project's area on
the map, fills its form by typing, is told what is missing next to the field, saves it
published, edits it (a money change needs its reason), and the public map and the change log
show it; a contractor reports progress with a photo, the official reopens a draft, approves
the report, and the public disclosure shows it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from geo.accounts import NewUser, add_user
from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests import city
from tests.conftest import Server, hand_made_city, serve
from tests.test_imports import MAPPING, frame, records
from tests.test_reports import KM_NORTH, photo
from tests.test_web import _axe, csp_violations, shot, watched

EMAIL, PASSWORD = "roads@allimi.test", "a long enough password"
# An empty spot of the test city (between the library and the sewer), seen close up
SPOT = {"lat": 37.5150, "lon": 127.0150, "z": 17}
TITLE = "시험동 보행로 확장공사"


@dataclass(frozen=True)
class Site:
    server: Server
    url: str

    def project(self, title: str) -> dict:
        engine = engine_for(self.url)
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT code, published, budget, GeometryType(geom) AS kind, district_code "
                    "FROM projects WHERE title = :t"
                ),
                {"t": title},
            ).mappings().one()  # fmt: skip
        engine.dispose()
        return dict(row)


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[Site]:
    """The hand-made test city in a writable database of its own, with an official of its
    roads office."""
    url = hand_made_city(settings, "allimi_test_editor")
    engine = engine_for(url)
    with engine.begin() as conn:
        add_user(conn, NewUser(EMAIL, "Kim Roads", "official", PASSWORD, "TEST-ROADS"))
    engine.dispose()
    for running in serve(Settings(database_url=url, basemap_url=None, version_ttl=0)):
        yield Site(running, url)
    drop_database(url)


def open_editor(browser: Browser, site: Site, query: str = "") -> Page:
    page = watched(browser, 1280, 900)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.server.base}/edit?lang=en&{query}")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    assert errors == []
    return page


def sign_in(page: Page) -> None:
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#project-form").wait_for()


def map_point(page: Page, dx: float, dy: float) -> tuple[float, float]:
    box = page.locator("#edit-map").bounding_box()
    assert box
    return box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy


def draw_square(page: Page) -> None:
    """A square of 120 px around the map's centre, with Geoman's polygon tool, by clicks."""
    page.get_by_role("button", name="Draw Polygon").click()
    corners = [(-60, -60), (60, -60), (60, 60), (-60, 60), (-60, -60)]  # back to the first
    for dx, dy in corners:
        page.mouse.click(*map_point(page, dx, dy))
        page.wait_for_timeout(150)


def test_an_official_draws_saves_and_publishes_a_project(browser: Browser, site: Site) -> None:
    page = open_editor(browser, site, "lat={lat}&lon={lon}&z={z}".format(**SPOT))
    expect(page.get_by_role("heading", name="Sign in to edit projects")).to_be_visible()
    assert _axe(page) == []
    shot(page, "editor-sign-in")

    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_have_text(
        "The e-mail address or the password is wrong."
    )
    sign_in(page)
    expect(page.locator("#who")).to_have_text("Kim Roads (official)")
    expect(page.locator("#f-agency")).to_be_disabled()
    expect(page.locator("#f-agency")).to_have_value("TEST-ROADS")

    draw_square(page)
    geometry = json.loads(page.locator("#f-geometry").input_value())
    assert geometry["type"] == "Polygon" and len(geometry["coordinates"][0]) == 5
    lons = [x for x, _ in geometry["coordinates"][0]]
    assert min(lons) < SPOT["lon"] < max(lons)

    # everything but the title, typed
    page.get_by_label("Category").select_option("road")
    page.get_by_label("Type of work").select_option("rehabilitation")
    page.get_by_label("Status").select_option("preparation")
    page.get_by_label("Contractor").type("(주)시험보행")
    page.get_by_label("Budget").type("1200000000")
    expect(page.locator("#f-budget-hint")).to_have_text("₩1,200,000,000")
    page.get_by_label("Planned start").fill("2027-03-01")
    page.get_by_label("Planned end").fill("2027-09-30")
    page.get_by_label("Address", exact=True).type("서울 시험로 12")
    page.get_by_label("Published: shown on the public map").check()
    page.get_by_role("button", name="Save").click()

    error = page.locator("#f-title-error")
    expect(error).to_have_text("it is required")
    expect(page.locator("#f-title")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-title")).to_be_focused()
    expect(page.locator("#form-status")).to_have_text(
        "The project was not saved: correct the marked fields."
    )
    assert _axe(page) == []
    shot(page, "editor-missing-title")

    page.locator("#f-title").type(TITLE)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#form-status")).to_contain_text("is on the public map")
    expect(error).to_be_hidden()
    stored = site.project(TITLE)
    code = stored["code"]
    assert stored["published"] and stored["kind"] == "POLYGON" and stored["district_code"]
    expect(page.locator("#form-title")).to_have_text(f"Editing: {TITLE}")
    assert f"project={code}" in page.url
    shot(page, "editor-saved")

    # an edit of the budget of a public project asks for its reason, next to the field
    page.get_by_label("Budget").fill("1300000000")
    expect(page.get_by_label("Reason for the change")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-reason-error")).to_have_text(
        "a reason is required for a change of budget"
    )
    page.get_by_label("Reason for the change").type("설계 변경으로 보도 폭 확대")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#form-status")).to_contain_text("is on the public map")
    assert site.project(TITLE)["budget"] == 1_300_000_000
    assert csp_violations(page) == []

    changes = site.server.http.get(f"/api/projects/{code}/changes").json()["changes"]
    actions = [c["action"] for c in changes]
    assert sorted(actions) == ["create", "edit"]
    created = json.loads(next(c for c in changes if c["action"] == "create")["content"])
    assert created["fields"]["title"] == [None, TITLE]
    assert created["agency"] == "TEST-ROADS" and created["role"] == "official"

    # the public map: a click on the place shows the project's disclosure
    public = watched(browser, 1280, 800)
    public.goto(f"{site.server.base}/?lang=en&lat={SPOT['lat']}&lon={SPOT['lon']}&z=18")
    public.wait_for_selector("body[data-ready=true]", timeout=20_000)
    box = public.locator("#map").bounding_box()
    assert box
    public.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    public.locator(".project-item", has_text=TITLE).click()
    disclosure = public.locator("article.disclosure")
    expect(disclosure).to_contain_text(TITLE)
    expect(disclosure).to_contain_text(code)
    shot(public, "editor-public-map")
    public.close()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to edit projects")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.close()


def test_an_edit_made_meanwhile_elsewhere_is_not_overwritten(browser: Browser, site: Site) -> None:
    page = open_editor(browser, site, "project=FIX-ROAD-1")
    sign_in(page)
    expect(page.locator("#f-title")).to_have_value(city.ROAD.title)
    # another official changes the project after this page opened it
    token = site.server.http.post(
        "/api/auth/token", data={"username": EMAIL, "password": PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    version = site.server.http.get("/api/projects/FIX-ROAD-1").json()["properties"]["version"]
    elsewhere = site.server.http.patch(
        "/api/projects/FIX-ROAD-1",
        json={"progress_actual": "45"},
        headers={**auth, "If-Match": f'"{version}"'},
    )
    assert elsewhere.status_code == 200, elsewhere.text
    page.get_by_label("Actual progress (%)").fill("50")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#form-status")).to_contain_text(
        "Someone else changed this project since you opened it"
    )
    shot(page, "editor-stale")
    page.get_by_role("button", name="Reload the project").click()
    expect(page.get_by_label("Actual progress (%)")).to_have_value("45")
    page.get_by_label("Actual progress (%)").fill("50")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#form-status")).to_contain_text("is on the public map")
    assert csp_violations(page) == []
    page.close()


BUILDER = "builder@allimi.test"


def _sign_in_as(page: Page, email: str) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_contractors_photo_report_is_public_once_an_official_approves_it(
    browser: Browser, site: Site, tmp_path
) -> None:
    engine = engine_for(site.url)
    with engine.begin() as conn:
        add_user(conn, NewUser(BUILDER, "Lee Builder", "contractor", PASSWORD, None,
                               city.ROAD.contractor))  # fmt: skip
    engine.dispose()
    taken_far = tmp_path / "현장.jpg"
    taken_far.write_bytes(photo(KM_NORTH))

    page = open_editor(browser, site)
    _sign_in_as(page, BUILDER)
    expect(page.locator("#who")).to_have_text("Lee Builder (contractor)")
    expect(page.get_by_role("heading", name="Your projects: 1")).to_be_visible()
    expect(page.locator("#edit-map")).to_be_hidden()
    project = page.locator(".assigned-project", has_text=city.ROAD.title)
    project.get_by_role("button", name="Report progress").click()
    page.get_by_label("Date of the report").fill("2026-08-10")
    page.get_by_label("Progress reached (%)").fill("62")
    page.get_by_label("Spent up to that date").fill("620000000")
    expect(page.locator("#r-spent_to_date-hint")).to_have_text("₩620,000,000")
    page.get_by_label("Note").fill("포장 2구간 완료")
    page.get_by_label("Photos and documents").set_input_files(str(taken_far))
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator(".form-status.ok")).to_have_text(
        f"Your report on {city.ROAD.code} was sent. It is public once an official of the agency "
        "approves it."
    )
    expect(project.locator(".state-pending")).to_have_text("waiting for approval")
    assert _axe(page) == []
    shot(page, "editor-contractor-report")
    public = site.server.http.get(f"/api/projects/{city.ROAD.code}").json()["properties"]
    assert "2026-08-10" not in [r["reported_on"] for r in public["reports"]]
    page.get_by_role("button", name="Sign out").click()

    # a draft of the official's agency waits in the drafts list
    token = site.server.http.post(
        "/api/auth/token", data={"username": EMAIL, "password": PASSWORD}
    ).json()["access_token"]
    draft = site.server.http.post(
        "/api/projects",
        json={"title": "시험로 배수 개선 초안", "category": "road", "project_type": "construction",
              "status": "preparation", "budget": "80000000", "planned_start": "2027-04-01",
              "planned_end": "2027-06-30", "geometry": "POINT(127.0151 37.5151)"},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert draft.status_code == 201, draft.text

    _sign_in_as(page, EMAIL)
    page.locator("#project-form").wait_for()
    page.get_by_role("button", name="Drafts").click()
    page.get_by_role("button", name="시험로 배수 개선 초안").click()
    expect(page.locator("#f-title")).to_have_value("시험로 배수 개선 초안")
    expect(page.get_by_label("Published: shown on the public map")).not_to_be_checked()

    pending = page.get_by_role("button", name="Reports to approve (1)")
    pending.click()
    waiting = page.locator(".pending-report", has_text=city.ROAD.title)
    expect(waiting).to_contain_text("포장 2구간 완료")
    expect(waiting.locator(".photo-flag")).to_have_text(
        re.compile(r"⚠ Photo taken 1(\.0)? km from the works")
    )
    expect(waiting.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
    assert waiting.locator("img").evaluate("image => image.naturalWidth") > 0
    assert _axe(page) == []
    shot(page, "editor-pending-report")
    waiting.get_by_role("button", name="Approve and publish").click()
    expect(waiting).to_contain_text("Approved: the report of")
    expect(page.get_by_role("button", name="Reports to approve (0)")).to_be_visible()

    # the public disclosure shows it; the signed-in official goes from it back to the editor
    page.goto(f"{site.server.base}/?lang=en&project={city.ROAD.code}")
    disclosure = page.locator("article.disclosure")
    expect(disclosure).to_contain_text("포장 2구간 완료")
    expect(disclosure).to_contain_text("62")
    photo_item = disclosure.locator(".documents li", has=page.locator("img[src$='/thumbnail']"))
    expect(photo_item.locator(".photo-flag")).to_have_text(
        re.compile(r"Photo taken 1(\.0)? km from the works")
    )
    assert photo_item.locator("img").evaluate("image => image.naturalWidth") > 0
    photo_item.scroll_into_view_if_needed()
    shot(page, "editor-approved-public")
    page.get_by_role("link", name="Edit this project").click()
    expect(page.locator("#f-title")).to_have_value(city.ROAD.title)
    expect(page.get_by_role("heading", name="Report progress")).to_be_visible()
    assert csp_violations(page) == []
    page.close()


def test_an_official_imports_a_file_after_its_dry_run(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    rows = records(3)
    rows[2]["단계"] = "중단"  # not in the mapping's values: the dry run rejects it
    path = tmp_path / "사업목록.geojson"
    frame(rows).to_file(path, driver="GeoJSON")
    page = open_editor(browser, site)
    sign_in(page)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import projects from a file")).to_be_visible()
    page.get_by_label("File", exact=True).set_input_files(path)
    page.get_by_label("Field mapping (YAML or JSON)").fill(json.dumps(MAPPING, ensure_ascii=False))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".import-table")).to_contain_text("'중단' is not in the mapping's values")
    expect(page.locator("#import-status[role=alert]")).to_have_text(
        "Nothing can be imported until these rows are corrected in the file."
    )
    assert page.get_by_role("button", name="Import 2 projects").count() == 0
    assert _axe(page) == []
    shot(page, "editor-import-rejected")

    rows[2]["단계"] = "착공"  # corrected in the file
    frame(rows).to_file(path, driver="GeoJSON")
    page.get_by_label("File", exact=True).set_input_files(path)
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".import-counts")).to_contain_text("New3")
    shot(page, "editor-import-dry-run")
    page.get_by_role("button", name="Import 3 projects").click()
    expect(page.locator("#import-status")).to_have_text(
        "Imported: 3 projects added or changed, each in the public change log."
    )
    assert csp_violations(page) == []
    page.close()

    public = watched(browser, 1280, 800)
    public.goto(f"{site.server.base}/?lang=ko")
    public.wait_for_selector("body[data-ready=true]", timeout=20_000)
    public.fill("#q", "보도 정비 2공구")
    public.press("#q", "Enter")
    public.locator(".project-item", has_text="보도 정비 2공구").click()
    expect(public.locator("article.disclosure")).to_contain_text("예산₩2억")  # 200,000 thousand won
    shot(public, "editor-import-public")
    public.close()
