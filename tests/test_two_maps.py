"""Two maps on one page (as an editor or a planners' view will compose their own): each owns its
Leaflet map, its layers, its legend, its requests and its view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from geo.settings import Settings
from tests.city import LIBRARY, STALE
from tests.conftest import Server, serve
from tests.test_web import STREET, open_page

AT_LIBRARY = {"lat": 37.5104, "lng": 127.0105}  # inside the LIBRARY polygon
AT_SEWER = {"lat": 37.52025, "lng": 127.0205}  # on the STALE sewer line
ZOOM = 17

# A second map from the module the portal's own map comes from, in a new element over the same
# city with a state of its own, moved to the library and highlighting it; kept as window.second.
SECOND_MAP = """async ([code, at, zoom]) => {
  const { createMap } = await import(`${location.origin}/static/js/map.js`);
  const json = (url) => fetch(url).then((r) => r.json());
  const [config, { layers }, feature] = await Promise.all(
    [json("/api/config"), json("/api/layers"), json(`/api/projects/${code}`)]);
  const element = document.createElement("div");
  element.id = "second";
  element.style.cssText = "position:fixed;right:0;bottom:0;width:400px;height:300px;z-index:9999";
  document.body.append(element);
  window.second = createMap(element, { config, layers, state: {}, onClick: () => {} });
  await window.second.refreshDistricts();
  window.second.flyTo(at.lat, at.lng, zoom);
  window.second.highlight([feature]);
}"""

# The page filtered to water (its map asks for its projects again) while the second map,
# unfiltered, moves to the sewer and asks for its own at the same moment.
FILTER_AND_MOVE = """([at, zoom]) => {
  document.querySelector("input[name=category][value=water]").checked = true;
  document.getElementById("filters").dispatchEvent(new Event("change"));
  window.second.flyTo(at.lat, at.lng, zoom);
}"""

# The strokes of the projects a map (by its element) draws.
STROKES = """(selector) => [...document.querySelectorAll(`${selector} path.leaflet-interactive`)]
  .map((path) => path.getAttribute("stroke"))"""

# What a map shows: where its panes stand, what it draws, its legend's title.
SHOWN = """(selector) => {
  const root = document.querySelector(selector);
  return {
    pane: root.querySelector(".leaflet-map-pane").style.transform,
    view: root.querySelector(".leaflet-overlay-pane svg").getAttribute("viewBox"),
    outlines: root.querySelectorAll(".leaflet-overlay-pane path:not(.leaflet-interactive)").length,
    projects: root.querySelectorAll("path.leaflet-interactive, .leaflet-marker-icon").length,
    legend: [...root.querySelectorAll(".legend summary")].map((s) => s.textContent),
  };
}"""


@pytest.fixture(scope="module")
def site(db_url: str) -> Iterator[Server]:
    """The portal with no base map configured: only the map's own layers are drawn."""
    yield from serve(Settings(database_url=db_url, basemap_url=None))


def shown(page: Page, selector: str) -> dict[str, object]:
    result: dict[str, object] = page.evaluate(SHOWN, selector)
    return result


def wait_for_projects(page: Page, selector: str, count: int) -> None:
    page.wait_for_function(
        f"([selector, count]) => ({STROKES})(selector).length === count",
        arg=[selector, count],
        timeout=5_000,
    )


def test_a_second_map_on_the_page_has_its_own_view_layers_and_requests(browser, site) -> None:
    layers = {layer["id"]: layer for layer in site.http.get("/api/layers").json()["layers"]}
    colours = {e["value"]: e["color"] for e in layers["projects"]["style"]["legend"]}
    districts = len(site.http.get("/api/layers/districts/features").json()["features"])
    page = open_page(browser, site, f"lang=en&{STREET}")
    wait_for_projects(page, "#map", 2)  # the road and the valve
    first = shown(page, "#map")
    url = page.url
    assert first["outlines"] == districts
    assert first["legend"] == ["Legend"]

    page.evaluate(SECOND_MAP, [LIBRARY.code, AT_LIBRARY, ZOOM])
    page.wait_for_function(
        f"(colour) => ({STROKES})('#second').join() === colour",
        arg=colours[LIBRARY.category],
        timeout=5_000,
    )
    west, south, east, north = map(float, page.evaluate("window.second.bboxParam()").split(","))
    assert west < AT_LIBRARY["lng"] < east and south < AT_LIBRARY["lat"] < north
    second = shown(page, "#second")
    assert second["outlines"] == districts + 1  # its districts and its highlight of the library
    assert second["legend"] == ["Legend"]
    assert page.evaluate("(at) => window.second.districtAt(at) !== undefined", AT_LIBRARY)
    assert shown(page, "#map") == first
    assert page.url == url  # the second map's moves are not the page's

    # each asks for its own projects at once: neither request aborts the other
    page.evaluate(FILTER_AND_MOVE, [AT_SEWER, ZOOM])
    wait_for_projects(page, "#map", 1)  # the valve
    # the sewer: the page's filter is not the second map's
    page.wait_for_function(
        f"(colour) => ({STROKES})('#second').join() === colour",
        arg=colours[STALE.category],
        timeout=5_000,
    )
    second = shown(page, "#second")
    url = page.url
    assert "category=water" in url

    # and the first map moves on its own
    box = page.locator("#map").bounding_box()
    assert box
    x, y = box["x"] + 200, box["y"] + box["height"] * 0.3
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 150, y, steps=8)
    page.mouse.up()
    page.wait_for_url(lambda now: now != url)
    assert shown(page, "#map")["pane"] != first["pane"]
    assert shown(page, "#second") == second
