"""Benchmark of the map at the national scale: vector tiles next to tipg, their sizes, every
project's presence in them, and the home page's first view, on the 1,000,000-project database.

What it measures, in one run (``--only`` picks some):

* **tiles**: cold tile throughput, ``GET /api/layers/projects/tiles/{z}/{x}/{y}.mvt`` on the
  portal (body cache off, per-client limits off, one uvicorn worker, as ``bench_api.py``) next
  to tipg 1.6.1 serving ``public.projects`` in the same run
  (``/collections/public.projects/tiles/WebMercatorQuad/{z}/{x}/{y}``), at z10, z12, z14 and
  z16 with 1 and 16 clients, on the distinct tiles holding sample project points (at z10 a
  handful cover Seoul, and repeat: the cache is off). Each workload runs on the portal, then on
  tipg, after ``pg_prewarm`` of the tables both read: neither meets a colder cache. Target: the
  portal at least 5x tipg's throughput at every zoom and client count.
* **sizes**: every distinct tile of those points once, from both: mean and largest body per
  zoom. Target: no tile of the portal's over 500 KB.
* **presence**: 5 tiles a zoom of the portal's, decoded (``mapbox-vector-tile`` in tipg's
  environment, not the portal's) and set against ``map_features``, a row per published project
  with its representative point in Web Mercator centimetres: in a tile of clusters the clusters'
  ``count`` add up to the projects whose point lies in the tile; in a tile of features each of
  those projects is among the features' ids. A tile mixing both fails.
* **view**: the two requests the home page makes at its first view (the districts, and the
  projects in the view widened to whole tiles, as ``web/static/js/map.js`` asks at 1280x800),
  each the first of a freshly started portal (defaults: body cache on, empty), 3 times. Target:
  each under 200 ms (median).
* **browser**: the home page in Debian's Chromium (Playwright, a new context each time: cold
  browser cache), on a freshly started portal with the base map off, from navigation start until
  the network is idle (500 ms without a request in flight, not counted) and the map shows its
  projects; 3 times. Target: under 2 s (median).
* **writes**: z12, z14 and z16 tiles with 1 and 16 readers on the portal as ``allimi run`` serves
  it (reading and writing, body cache on, limits raised), alone and beside one edit a second
  through the API (``bench_writes.py``'s official, projects and writer, after its first pass).
  Target: beside the writer, at least 80 % of the throughput alone.
* **shared**: the shared body cache (``ALLIMI_SHARED_CACHE_MB``, ``body_cache`` in PostgreSQL)
  at z10 to z16 with 1 and 16 clients, on the tiles phase's tiles: a portal making every tile
  (memory cache off, shared cache off) against one reading them all from ``body_cache``
  (memory cache off, 512 MB, ``ALLIMI_CACHE_MIN_MS=0``), which another portal filled with one
  pass and stopped before; the table's size and rows after the fill. No target: it says at
  which zoom the cache pays (over 1.2x). ``body_cache`` is emptied before and after.

The exit status is 0 when every target of the phases run passes, 1 otherwise.

Run from the repository root::

    .venv/bin/python bench/bench_tiles.py                      # allimi_bench, about 17 minutes
    .venv/bin/python bench/bench_tiles.py --duration 5 --warmup 2
    .venv/bin/python bench/bench_tiles.py --only view browser  # the home page alone
    .venv/bin/python bench/bench_tiles.py --only shared        # the shared body cache
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from bench_api import (
    BENCH_DB,
    CONCURRENCY,
    MAX_TILE_BYTES,
    REQUEST_TIMEOUT_S,
    ROOT,
    UNLIMITED,
    Job,
    LoadResult,
    api_server,
    background_busy,
    default_database_url,
    finish,
    http_session,
    measurement_arguments,
    run_load,
    safe_url,
    sample_points,
    tile_jobs,
    tile_xy,
    uvicorn_version,
)
from bench_open_data import TIPG_COLLECTION, load, prewarm, tipg_python, tipg_server
from bench_writes import bench_account, bench_targets, bench_token, line, readers_beside_writer
from sqlalchemy import Engine, text

from geo.settings import Settings
from geo.store.database import engine_for

PHASES = ("tiles", "sizes", "presence", "view", "browser", "writes", "shared")
ZOOMS = (10, 12, 14, 16)
WRITE_ZOOMS = (12, 14, 16)
TARGET_TIPG_RATIO = 5.0
TARGET_VIEW_MS = 200.0
TARGET_SETTLED_MS = 2000.0
TARGET_WRITES_RATIO = 0.8
PRESENCE_TILES = 5  # tiles a zoom whose projects are counted
COLD_RUNS = 3
SURVEY_CLIENTS = 4
MVT_PACKAGE = "mapbox-vector-tile==2.2.0"
OUR_TILE = "/api/layers/projects/tiles/{z}/{x}/{y}.mvt"
TIPG_TILE = f"/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"

# The home page: a 1280x800 window; its #map element then measures 880x723 px in Chromium (the
# header, the sample-data banner and the panel take the rest). The browser phase measures it
# again and says when what it asked differs from what is computed here.
VIEWPORT: Any = {"width": 1280, "height": 800}  # Playwright's ViewportSize
MAP_SIZE = (880, 723)
FIT_PADDING = 16  # map.fitBounds(city, { padding: [16, 16] })
ZOOM_SNAP = 0.5  # L.map(element, { zoomSnap: 0.5, maxZoom: 19 })
MAX_ZOOM = 19
BOUNDS_PAD = 0.5  # map.js PAD: the map may be moved half the city's size past it
DISTRICTS_PATH = "/api/layers/districts/features?"  # filterParams of no filters, minus q
# The portal as a visitor meets it: defaults (body cache on), and no base map from the internet.
HOME_SETTINGS = {"ALLIMI_CACHE_MB": str(Settings().cache_mb), "ALLIMI_BASEMAP_URL": ""}
CHROMIUM = "/usr/bin/chromium"  # as tests/conftest.py launches it
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PROJECTS_SHOWN = "#map .cluster, #map path.leaflet-interactive"  # districts are not interactive
IDLE_S = 0.5
SETTLE_TIMEOUT_S = 60.0
# The shared phase: no process keeps a body in memory, so every answer is made or read from
# body_cache; the cache needs the write login (the primary), so the portals read and write.
WRITING_PORTAL = "bench_writes:portal"
SHARED_CACHE_MB = 512
PAYS_RATIO = 1.2  # "pays" above this throughput ratio: a measurement, not a target
FILL_SECONDS = 300.0  # time bound of the fill's pass at each zoom
SHARED_OFF = {**UNLIMITED, "ALLIMI_CACHE_MB": "0", "ALLIMI_SHARED_CACHE_MB": "0"}
SHARED_ON = {
    **UNLIMITED,
    "ALLIMI_CACHE_MB": "0",
    "ALLIMI_SHARED_CACHE_MB": str(SHARED_CACHE_MB),
    "ALLIMI_CACHE_MIN_MS": "0",  # every body stored, however quick to make
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help=f"database to benchmark (default: `allimi db url` with ALLIMI_DB_NAME={BENCH_DB})",
    )
    measurement_arguments(parser)
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    parser.add_argument(
        "--only", nargs="+", choices=PHASES, metavar="PHASE",
        help=f"measure these phases only, of: {', '.join(PHASES)}",
    )  # fmt: skip
    parser.add_argument("--skip-tipg", action="store_true", help="leave tipg out")
    parser.add_argument(
        "--survey-seconds", type=float, default=30.0, help="time bound of each tile-size survey"
    )
    parser.add_argument("--cold-runs", type=int, default=COLD_RUNS, help="cold starts per view")
    return parser.parse_args(argv)


Check = tuple[str, bool]
T = TypeVar("T")


# --- the tiles --------------------------------------------------------------------------------


def distinct_tiles(
    z: int, points: Sequence[tuple[float, float]], rng: random.Random
) -> list[tuple[int, int]]:
    """The distinct tiles of zoom ``z`` holding ``points``, in a random order."""
    tiles = list(dict.fromkeys(tile_xy(lon, lat, z) for lon, lat in points))
    rng.shuffle(tiles)
    return tiles


def jobs(template: str, z: int, tiles: Sequence[tuple[int, int]]) -> list[Job]:
    return [Job(template.format(z=z, x=x, y=y), None) for x, y in tiles]


@dataclass(frozen=True)
class TileRow:
    z: int
    clients: int
    ours: LoadResult
    theirs: LoadResult | None

    @property
    def ratio(self) -> float | None:
        if self.theirs is None:
            return None
        return self.ours.rps / self.theirs.rps if self.theirs.rps else math.inf


def kb(result: LoadResult) -> float:
    return statistics.fmean(result.sizes) / 1024 if result.sizes else 0.0


def cells(result: LoadResult | None) -> str:
    if result is None:
        return f"{'-':>8} {'-':>8} {'-':>8} {'-':>7}"
    return (
        f"{result.rps:8.1f} {result.percentile_ms(50):8.1f} {result.percentile_ms(99):8.1f} "
        f"{kb(result):7.1f}"
    )


def tile_row(row: TileRow) -> str:
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    errors = row.ours.errors + (row.theirs.errors if row.theirs else 0)
    return (
        f"  z{row.z:<3} x{row.clients:<3} | {cells(row.ours)} | {cells(row.theirs)} | "
        f"{ratio:>7} {errors:>6}"
    )


TILE_HEADER = (
    f"  {'zoom':<4} {'cl.':<4} | {'Allimi/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean KB':>7} | "
    f"{'tipg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean KB':>7} | {'ratio':>7} {'errors':>6}"
)


def measure_tiles(
    args: argparse.Namespace, ours: str, theirs: str | None, tiles: Mapping[int, list[Any]]
) -> list[TileRow]:
    """Each zoom and client count on the portal, then on tipg right after."""
    print("\nCold tiles (bodies made for every request), Allimi then tipg per row")
    print(TILE_HEADER, flush=True)
    rows = []
    for z in ZOOMS:
        for clients in CONCURRENCY:
            mine = load(ours, jobs(OUR_TILE, z, tiles[z]), clients, args)
            other = load(theirs, jobs(TIPG_TILE, z, tiles[z]), clients, args) if theirs else None
            rows.append(TileRow(z, clients, mine, other))
            print(tile_row(rows[-1]), flush=True)
    return rows


def tile_checks(rows: Sequence[TileRow]) -> list[Check]:
    checks = []
    for r in rows:
        if r.ratio is None:  # tipg left out
            label = f"tiles z{r.z} x{r.clients}: Allimi answered every request"
            checks.append((label + f" ({r.ours.errors} failed)", not r.ours.errors))
            continue
        label = f"tiles z{r.z} x{r.clients}: Allimi {r.ratio:.2f}x tipg >= {TARGET_TIPG_RATIO:g}x"
        if r.ours.errors:
            label += f" ({r.ours.errors} failed requests)"
        checks.append((label, r.ratio >= TARGET_TIPG_RATIO and not r.ours.errors))
    return checks


def survey(base: str, requests: Sequence[Job], seconds: float) -> LoadResult:
    """Each tile once, from ``SURVEY_CLIENTS`` clients, for at most ``seconds``."""
    return run_load(lambda: http_session(base), requests, SURVEY_CLIENTS, seconds, len(requests))


def size_cells(result: LoadResult | None, total: int) -> str:
    if result is None:
        return f"{'-':>9} {'-':>9} {'-':>9} {'-':>6}"
    sizes = result.sizes or [0]
    return (
        f"{f'{result.count}/{total}':>9} {statistics.fmean(sizes):9.0f} {max(sizes):9d} "
        f"{result.errors:>6}"
    )


def measure_sizes(
    args: argparse.Namespace, ours: str, theirs: str | None, tiles: Mapping[int, list[Any]]
) -> list[Check]:
    print(f"\nTile sizes: every distinct tile once ({SURVEY_CLIENTS} clients, at most "
          f"{args.survey_seconds:g} s a zoom and server), bytes")  # fmt: skip
    print(f"  {'zoom':<4} | {'Allimi n':>9} {'mean':>9} {'max':>9} {'errors':>6} | "
          f"{'tipg n':>9} {'mean':>9} {'max':>9} {'errors':>6}")  # fmt: skip
    checks = []
    for z in ZOOMS:
        total = len(tiles[z])
        mine = survey(ours, jobs(OUR_TILE, z, tiles[z]), args.survey_seconds)
        other = None
        if theirs:
            other = survey(theirs, jobs(TIPG_TILE, z, tiles[z]), args.survey_seconds)
        print(f"  z{z:<3} | {size_cells(mine, total)} | {size_cells(other, total)}", flush=True)
        largest = max(mine.sizes, default=0)
        complete = mine.count == total and not mine.errors
        checks.append((
            f"sizes z{z}: no tile of Allimi's over 500 KB (largest {largest / 1024:.1f} KB, "
            f"{mine.count}/{total} fetched, {mine.errors} errors)",
            complete and largest <= MAX_TILE_BYTES,
        ))  # fmt: skip
    return checks


# --- every project's presence ---------------------------------------------------------------

# Run by tipg's interpreter: base64 MVT bodies in (a JSON list on stdin), each tile's features
# out (a JSON list of [id, count]; count is null for a project, a cluster has no id).
DECODE = """
import base64, json, sys
import mapbox_vector_tile
out = []
for body in json.load(sys.stdin):
    layers = mapbox_vector_tile.decode(base64.b64decode(body)) if body else {}
    out.append([[f.get("id"), f["properties"].get("count")]
                for layer in layers.values() for f in layer["features"]])
json.dump(out, sys.stdout)
"""
IN_TILE = """
    SELECT m.id FROM map_features m, (SELECT ST_TileEnvelope(:z, :x, :y) AS e) b
    WHERE m.x / 100.0 >= ST_XMin(b.e) AND m.x / 100.0 < ST_XMax(b.e)
      AND m.y / 100.0 >= ST_YMin(b.e) AND m.y / 100.0 < ST_YMax(b.e)"""


def mvt_python() -> str:
    """tipg's interpreter, with ``MVT_PACKAGE`` installed on first use (a bench-only decoder:
    the portal has no use for one)."""
    python = tipg_python()
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    )
    if MVT_PACKAGE not in frozen.stdout.splitlines():
        print(f"installing {MVT_PACKAGE} into {python.parent.parent} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", MVT_PACKAGE], check=True)
    return str(python)


def decode(bodies: Sequence[bytes]) -> list[list[tuple[int | None, int | None]]]:
    """Each MVT's features as (id, count)."""
    payload = json.dumps([base64.b64encode(b).decode() for b in bodies])
    done = subprocess.run(
        [mvt_python(), "-c", DECODE], input=payload, capture_output=True, text=True, check=True
    )
    return [[(i, c) for i, c in tile] for tile in json.loads(done.stdout)]


@dataclass(frozen=True)
class Presence:
    z: int
    x: int
    y: int
    projects: int  # features without a count
    clusters: int
    counted: int  # the clusters' counts added up
    in_tile: int  # published projects whose point lies in the tile
    missing: int  # of those, not among the features' ids (a tile of features)

    @property
    def kind(self) -> str:
        if self.projects and self.clusters:
            return "mixed"
        return "clusters" if self.clusters else "features" if self.projects else "empty"

    @property
    def ok(self) -> bool:
        if self.kind == "clusters":
            return self.counted == self.in_tile
        if self.kind == "features":
            return self.missing == 0
        return self.kind == "empty" and self.in_tile == 0


def has_map_features(engine: Engine) -> int | None:
    """Rows of ``map_features``, or None when the table does not exist (yet)."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('public.map_features')")).scalar() is None:
            return None
        return int(conn.execute(text("SELECT count(*) FROM map_features")).scalar_one())


def check_presence(
    base: str, engine: Engine, tiles: Mapping[int, list[Any]], seed: int
) -> list[Presence]:
    rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    chosen = [(z, x, y) for z in ZOOMS for x, y in rng.sample(tiles[z], min(PRESENCE_TILES,
              len(tiles[z])))]  # fmt: skip
    bodies = []
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
        for z, x, y in chosen:
            response = client.get(OUR_TILE.format(z=z, x=x, y=y))
            if response.status_code not in (200, 204):
                response.raise_for_status()
            bodies.append(response.content)
    found = []
    with engine.connect() as conn:
        for (z, x, y), features in zip(chosen, decode(bodies), strict=True):
            ids = {int(i) for i, c in features if c is None and i is not None}
            counts = [int(c) for _, c in features if c is not None]
            in_tile = {int(i) for (i,) in conn.execute(text(IN_TILE), {"z": z, "x": x, "y": y})}
            projects = sum(1 for _, c in features if c is None)
            missing = len(in_tile - ids)
            found.append(Presence(z, x, y, projects, len(counts), sum(counts), len(in_tile),
                                  missing))  # fmt: skip
    return found


def print_presence(found: Sequence[Presence]) -> list[Check]:
    print("\nEvery project's presence: Allimi's tiles decoded against map_features")
    print(f"  {'tile':<16} {'kind':<9} {'features':>8} {'clusters':>8} {'counted':>8} "
          f"{'in tile':>8} {'missing':>8}")  # fmt: skip
    for p in found:
        verdict = "ok" if p.ok else "WRONG"
        missing = p.missing if p.kind == "features" else "-"
        print(f"  {f'{p.z}/{p.x}/{p.y}':<16} {p.kind:<9} {p.projects:>8} {p.clusters:>8} "
              f"{p.counted:>8} {p.in_tile:>8} {missing:>8}  {verdict}")  # fmt: skip
    checks = []
    for z in ZOOMS:
        mine = [p for p in found if p.z == z]
        wrong = [f"{p.z}/{p.x}/{p.y}" for p in mine if not p.ok]
        label = f"presence z{z}: every project counted once in {len(mine)} tiles"
        checks.append((label + (f" (wrong: {', '.join(wrong)})" if wrong else ""), not wrong))
    return checks


# --- the home page's first view ---------------------------------------------------------------

EARTH_R = 6378137.0  # Leaflet's L.Projection.SphericalMercator
MAX_LATITUDE = 85.0511287798


def project(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Leaflet's ``map.project`` (EPSG3857): a point in pixels of ``zoom``."""
    d = math.pi / 180
    sin = math.sin(max(min(MAX_LATITUDE, lat), -MAX_LATITUDE) * d)
    x, y = EARTH_R * lon * d, EARTH_R * math.log((1 + sin) / (1 - sin)) / 2
    scale, k = 256 * 2**zoom, 0.5 / (math.pi * EARTH_R)
    return scale * (k * x + 0.5), scale * (-k * y + 0.5)


def unproject(px: float, py: float, zoom: float) -> tuple[float, float]:
    """Leaflet's ``map.unproject``: (lon, lat) of a pixel of ``zoom``."""
    scale, k = 256 * 2**zoom, 0.5 / (math.pi * EARTH_R)
    x, y, d = (px / scale - 0.5) / k, (py / scale - 0.5) / -k, 180 / math.pi
    return x * d / EARTH_R, (2 * math.atan(math.exp(y / EARTH_R)) - math.pi / 2) * d


def js_round(v: float) -> float:
    return math.floor(v + 0.5)  # Math.round: halves up


def bounds_zoom(
    bounds: Sequence[float], size: tuple[int, int], padding: int, min_zoom: float
) -> float:
    """``map.getBoundsZoom(bounds, false, [padding, padding])`` before the map has a view."""
    west, south, east, north = bounds
    x1, y1 = project(east, south, 0)
    x0, y0 = project(west, north, 0)
    scale = min((size[0] - padding) / abs(x1 - x0), (size[1] - padding) / abs(y1 - y0))
    zoom = math.log(scale) / math.log(2)  # getScaleZoom(scale, 0)
    zoom = js_round(zoom / (ZOOM_SNAP / 100)) * (ZOOM_SNAP / 100)
    zoom = math.floor(zoom / ZOOM_SNAP) * ZOOM_SNAP
    return max(min_zoom, min(MAX_ZOOM, zoom))


def rebound(left: float, right: float) -> float:
    if left + right > 0:
        return js_round(left - right) / 2
    return max(0, math.ceil(left)) - max(0, math.floor(right))


def home_view(bounds: Sequence[float], size: tuple[int, int]) -> tuple[float, float, float]:
    """The view map.js starts at with no view in the URL (``map.fitBounds(city, {padding})``
    in Leaflet 1.9): its zoom and the pixel of its top left corner."""
    west, south, east, north = bounds
    dx, dy = (east - west) * BOUNDS_PAD, (north - south) * BOUNDS_PAD
    around = (west - dx, south - dy, east + dx, north + dy)  # city.pad(PAD)
    min_zoom = max(0, math.floor(bounds_zoom(around, size, 0, 0)) - 1)
    zoom = bounds_zoom(bounds, size, 2 * FIT_PADDING, min_zoom)  # fitBounds, padding 16
    sw, ne = project(west, south, zoom), project(east, north, zoom)
    centre = unproject((sw[0] + ne[0]) / 2, (sw[1] + ne[1]) / 2, zoom)
    zoom = max(min_zoom, min(MAX_ZOOM, js_round(zoom / ZOOM_SNAP) * ZOOM_SNAP))  # _limitZoom
    cx, cy = project(*centre, zoom)  # _limitCenter inside the padded bounds
    left, top = cx - size[0] / 2, cy - size[1] / 2
    max_left, max_top = project(around[0], around[3], zoom)
    max_right, max_bottom = project(around[2], around[1], zoom)
    shift_x = rebound(max_left - left, -(max_right - (left + size[0])))
    shift_y = rebound(max_top - top, -(max_bottom - (top + size[1])))
    if abs(shift_x) > 1 or abs(shift_y) > 1:
        cx, cy = cx + shift_x, cy + shift_y
    return zoom, js_round(cx - size[0] / 2), js_round(cy - size[1] / 2)  # _getNewPixelOrigin


def home_projects_path(bounds: Sequence[float], size: tuple[int, int] = MAP_SIZE) -> str:
    """The projects request of the first view: map.js's ``tileAlignedBbox()``."""
    zoom, left, top = home_view(bounds, size)
    west, north = unproject(left, top, zoom)  # map.getBounds()
    east, south = unproject(left + size[0], top + size[1], zoom)
    z = math.floor(zoom)
    nw, se = project(west, north, z), project(east, south, z)
    x0, y0 = (math.floor(v / 256) * 256 for v in nw)
    x1, y1 = (math.ceil(v / 256) * 256 for v in se)
    (w, n), (e, s) = unproject(x0, y0, z), unproject(x1, y1, z)

    def fixed(v: float, lo: float, hi: float) -> str:
        return f"{min(max(v, lo), hi):.5f}"

    bbox = ",".join([fixed(w, -180, 180), fixed(s, -90, 90), fixed(e, -180, 180),
                     fixed(n, -90, 90)])  # fmt: skip
    return "/api/layers/projects/features?" + urllib.parse.urlencode({"bbox": bbox})


@dataclass(frozen=True)
class ViewRun:
    path: str
    timings: tuple[float, float]  # ms: districts, projects
    sizes: tuple[int, int]


def cold_view(url: str) -> ViewRun:
    """On a new portal: what main.js asks first (config and layers), then timed, in its order,
    the districts and the projects of the first view, on one keep-alive connection."""
    with api_server(url, 1, HOME_SETTINGS, app="bench_writes:portal") as server:
        address = urllib.parse.urlsplit(server.base_url)
        conn = http.client.HTTPConnection(address.hostname or "", address.port,
                                          timeout=REQUEST_TIMEOUT_S)  # fmt: skip
        try:

            def get(path: str) -> tuple[float, bytes]:
                began = time.perf_counter()
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path}: {response.status}")
                return (time.perf_counter() - began) * 1000, body

            config = json.loads(get("/api/config")[1])
            get("/api/layers")
            path = home_projects_path(config["jurisdiction"]["bounds"])
            (d_ms, d_body), (p_ms, p_body) = get(DISTRICTS_PATH), get(path)
        finally:
            conn.close()
    return ViewRun(path, (d_ms, p_ms), (len(d_body), len(p_body)))


def attempts(run: Callable[[], T], times: int) -> tuple[list[T], list[str]]:
    """``times`` runs: what the good ones returned, and why the others failed."""
    done, failed = [], []
    for _ in range(times):
        try:
            done.append(run())
        except Exception as error:  # a run that fails is reported, and fails its target
            failed.append(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            print(f"  a run failed: {failed[-1]}", flush=True)
    return done, failed


def failures(failed: Sequence[str]) -> str:
    return f" ({len(failed)} runs failed)" if failed else ""


def view_checks(runs: Sequence[ViewRun], failed: Sequence[str]) -> list[Check]:
    print("\nThe home page's first view, the first requests of a new portal (body cache on, "
          "empty), ms" + (f"\n  projects: {runs[0].path}" if runs else ""))  # fmt: skip
    for i, r in enumerate(runs, 1):
        print(f"  run {i}: districts {r.timings[0]:7.1f} ms ({r.sizes[0] / 1024:.0f} KB)   "
              f"projects {r.timings[1]:7.1f} ms ({r.sizes[1] / 1024:.0f} KB)")  # fmt: skip
    checks = []
    for i, name in enumerate(("districts", "projects")):
        median = statistics.median([r.timings[i] for r in runs]) if runs else math.nan
        print(f"  median {name:<9} {median:7.1f} ms")
        checks.append((f"view: {name}, the first request, median {median:.0f} ms < "
                       f"{TARGET_VIEW_MS:g} ms" + failures(failed),
                       median < TARGET_VIEW_MS and not failed))  # fmt: skip
    return checks


# --- the home page in a browser ---------------------------------------------------------------

# Before the page's scripts: room for every resource's timing, and the moment the map first
# shows a project (a cluster, or a project's path: the districts' are not interactive).
WATCH = f"""
performance.setResourceTimingBufferSize(1000);
window.__projectsShown = null;
new MutationObserver((_, observer) => {{
  if (document.querySelector({json.dumps(PROJECTS_SHOWN)})) {{
    window.__projectsShown = performance.now();
    observer.disconnect();
  }}
}}).observe(document, {{ childList: true, subtree: true }});
"""
# What the page loaded, in ms from navigation start.
TIMES = """() => {
  const entries = [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource")];
  const find = (part) => entries.find((e) => e.name.includes(part));
  const map = document.getElementById("map");
  return {
    last: Math.max(...entries.map((e) => e.responseEnd)),
    shown: window.__projectsShown,
    requests: entries.length,
    bytes: entries.reduce((n, e) => n + (e.transferSize || 0), 0),
    districts: find("/api/layers/districts/features")?.duration ?? null,
    projects: find("/api/layers/projects/features")?.duration ?? null,
    projectsUrl: find("/api/layers/projects/features")?.name ?? null,
    config: find("/api/config")?.name ?? null,
    size: [map.clientWidth, map.clientHeight],
  };
}"""


@dataclass(frozen=True)
class BrowserRun:
    settled: float  # ms from navigation start
    last_response: float
    shown: float
    requests: int
    bytes: int
    districts: float | None
    projects: float | None
    projects_path: str | None
    map_size: tuple[int, int]
    expected_path: str | None  # what home_projects_path computes for the measured map


def settle(context: Any, base: str) -> BrowserRun:
    """Open the home page in ``context`` and wait until it has settled."""
    page = context.new_page()
    page.add_init_script(WATCH)
    in_flight: set[Any] = set()
    last = [time.perf_counter()]

    def started(request: Any) -> None:
        in_flight.add(request)
        last[0] = time.perf_counter()

    def ended(request: Any) -> None:
        in_flight.discard(request)
        last[0] = time.perf_counter()

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    began = time.perf_counter()
    page.goto(f"{base}/", wait_until="commit")
    while True:
        page.wait_for_timeout(50)
        idle = not in_flight and time.perf_counter() - last[0] >= IDLE_S
        if idle and page.evaluate("window.__projectsShown !== null"):
            break
        if time.perf_counter() - began > SETTLE_TIMEOUT_S:
            raise RuntimeError(f"the page did not settle in {SETTLE_TIMEOUT_S:g} s")
    t = page.evaluate(TIMES)
    path = None
    if t["projectsUrl"]:
        parts = urllib.parse.urlsplit(t["projectsUrl"])
        path = f"{parts.path}?{parts.query}"
    config = httpx.get(f"{base}/api/config", timeout=REQUEST_TIMEOUT_S).json()
    size = (int(t["size"][0]), int(t["size"][1]))
    page.close()
    return BrowserRun(
        settled=max(t["last"], t["shown"]), last_response=t["last"], shown=t["shown"],
        requests=int(t["requests"]), bytes=int(t["bytes"]), districts=t["districts"],
        projects=t["projects"], projects_path=path, map_size=size,
        expected_path=home_projects_path(config["jurisdiction"]["bounds"], size),
    )  # fmt: skip


def browser_runs(url: str, runs: int) -> tuple[list[BrowserRun], list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)

        def run() -> BrowserRun:
            with api_server(url, 1, HOME_SETTINGS, app="bench_writes:portal") as server:
                context = chromium.new_context(viewport=VIEWPORT)  # a cold browser cache
                try:
                    return settle(context, server.base_url)
                finally:
                    context.close()

        try:
            return attempts(run, runs)
        finally:
            chromium.close()


def ms(v: float | None) -> str:
    return "   n/a" if v is None else f"{v:6.0f}"


def browser_checks(
    runs: Sequence[BrowserRun], failed: Sequence[str], view: Sequence[ViewRun]
) -> list[Check]:
    print(f"\nThe home page in Chromium, {VIEWPORT['width']}x{VIEWPORT['height']}, a new portal "
          "and a new browser context each run, ms from navigation start")  # fmt: skip
    for i, r in enumerate(runs, 1):
        print(f"  run {i}: settled {ms(r.settled)}  (last response {ms(r.last_response)}, "
              f"projects shown {ms(r.shown)}; {r.requests} requests, {r.bytes / 1024:.0f} KB)  "
              f"districts {ms(r.districts)}  projects {ms(r.projects)}")  # fmt: skip
    median = statistics.median([r.settled for r in runs]) if runs else math.nan
    print(f"  median settled {median:.0f} ms")
    for name, i in (("districts", 0), ("projects", 1)):
        real = [v for r in runs if (v := (r.districts, r.projects)[i]) is not None]
        timed = [r.timings[i] for r in view]
        in_browser = ms(statistics.median(real)) if real else ms(None)
        over_http = ms(statistics.median(timed)) if timed else ms(None)
        print(f"  first {name:<9} median: in the browser {in_browser} ms, over HTTP (view) "
              f"{over_http} ms")  # fmt: skip
    for r in runs:
        if r.projects_path != r.expected_path or r.map_size != MAP_SIZE:
            print(f"  NOTE: the map measured {r.map_size[0]}x{r.map_size[1]} px (computed for "
                  f"{MAP_SIZE[0]}x{MAP_SIZE[1]}); the browser asked {r.projects_path}, the view "
                  f"for that map is {r.expected_path}")  # fmt: skip
            break
    else:
        if runs:
            print(f"  the browser asked for the projects of the view computed: "
                  f"{runs[0].projects_path}")  # fmt: skip
    return [(f"browser: home page settled, median {median:.0f} ms < {TARGET_SETTLED_MS:g} ms"
             + failures(failed), median < TARGET_SETTLED_MS and not failed)]  # fmt: skip


# --- tiles beside a writer ------------------------------------------------------------------


def measure_writes(
    url: str, engine: Engine, points: Sequence[tuple[float, float]], args: argparse.Namespace
) -> list[Check]:
    user_id, agency = bench_account(engine)
    targets = bench_targets(engine, user_id, agency)
    token = bench_token(engine, user_id)
    cache_on = {**UNLIMITED, "ALLIMI_CACHE_MB": str(Settings().cache_mb)}
    print(f"\nTiles (body cache on) alone and beside one edit a second ({len(targets)} projects "
          f"of {agency}), after a first pass")  # fmt: skip
    checks = []
    with api_server(url, 1, cache_on, app="bench_writes:portal") as server:
        for z in WRITE_ZOOMS:
            reads = tile_jobs(z, points, args.max_requests)
            for clients in CONCURRENCY:
                alone, beside, edits = readers_beside_writer(
                    server.base_url, token, targets, engine, reads, clients, args
                )
                ratio = beside.rps / alone.rps if alone.rps else 0.0
                done = f"edits {edits[0]} ok, {edits[1]} failed, data version +{edits[2]}"
                print(f"  {line(f'tile z{z} alone', clients, alone)}")
                print(f"  {line(f'tile z{z} with 1 edit/s', clients, beside)}  {done}")
                print(f"  {'':<24} ratio {ratio:.2f}", flush=True)
                errors = alone.errors + beside.errors
                label = (
                    f"writes z{z} x{clients}: beside the writer {ratio:.0%} of alone >= "
                    f"{TARGET_WRITES_RATIO:.0%}"
                )
                if errors:
                    label += f" ({errors} failed requests)"
                checks.append((label, ratio >= TARGET_WRITES_RATIO and not errors))
    return checks


# --- the shared body cache ------------------------------------------------------------------


@dataclass(frozen=True)
class SharedRow:
    z: int
    clients: int
    cold: LoadResult
    shared: LoadResult

    @property
    def ratio(self) -> float:
        return self.shared.rps / self.cold.rps if self.cold.rps else math.inf


def body_cache_state(engine: Engine) -> tuple[int, int]:
    """Rows of ``body_cache``, and its size in bytes with its index and TOAST."""
    with engine.connect() as conn:
        rows, size = conn.execute(
            text("SELECT count(*), pg_total_relation_size('body_cache') FROM body_cache")
        ).one()
    return int(rows), int(size)


def empty_body_cache(engine: Engine) -> int:
    """``body_cache`` emptied (as the database's owner: the API's write role may too); how
    many rows went."""
    with engine.begin() as conn:
        return int(conn.execute(text("DELETE FROM body_cache")).rowcount)


def fill_shared(url: str, tiles: Mapping[int, list[Any]]) -> list[Check]:
    """One pass over every zoom's tiles by a portal of its own, stopped before measuring."""
    print(f"\nShared body cache: one pass over the tiles by another portal, then stopped "
          f"({SURVEY_CLIENTS} clients, each tile once)")  # fmt: skip
    checks = []
    with api_server(url, 1, SHARED_ON, app=WRITING_PORTAL) as filler:
        for z in ZOOMS:
            done = survey(filler.base_url, jobs(OUR_TILE, z, tiles[z]), FILL_SECONDS)
            print(f"  z{z:<3} {done.count}/{len(tiles[z])} tiles in {done.seconds:.1f} s, "
                  f"{done.errors} failed", flush=True)  # fmt: skip
            checks.append((
                f"shared z{z}: the fill asked every tile once ({done.count}/{len(tiles[z])}, "
                f"{done.errors} failed)",
                done.count == len(tiles[z]) and not done.errors,
            ))  # fmt: skip
    return checks


def shared_row(row: SharedRow) -> str:
    return (
        f"  z{row.z:<3} x{row.clients:<3} | {cells(row.cold)} | {cells(row.shared)} | "
        f"{row.ratio:6.2f}x {row.cold.errors + row.shared.errors:>6}"
    )


SHARED_HEADER = (
    f"  {'zoom':<4} {'cl.':<4} | {'cold/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean KB':>7} | "
    f"{'shared/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean KB':>7} | {'ratio':>7} {'errors':>6}"
)


def verdict(z: int, rows: Sequence[SharedRow]) -> str:
    """Whether reading ``body_cache`` beats making the tiles at zoom ``z``."""
    mine = [r for r in rows if r.z == z]
    pays = [r.clients for r in mine if r.ratio > PAYS_RATIO]
    ratios = ", ".join(f"x{r.clients} {r.ratio:.2f}x" for r in mine)
    if len(pays) == len(mine):
        return f"  shared cache pays at z{z} ({ratios})"
    if pays:
        clients = " and ".join(str(c) for c in pays)
        return f"  shared cache pays at z{z} with {clients} clients only ({ratios})"
    return f"  shared cache does not pay at z{z} ({ratios})"


def measure_shared(
    args: argparse.Namespace, url: str, engine: Engine, tiles: Mapping[int, list[Any]]
) -> list[Check]:
    """Cold tiles against tiles another process has put in ``body_cache``, neither process
    keeping any in memory; ``body_cache`` emptied before the fill and after."""
    print(f"\nShared body cache: emptied ({empty_body_cache(engine)} rows)")
    try:
        checks = fill_shared(url, tiles)
        rows, size = body_cache_state(engine)
        print(f"  body_cache after the fill: {rows:,} rows, {size / 2**20:.1f} MiB "
              "(pg_total_relation_size)")  # fmt: skip
        print(f"\nTiles cold (memory cache off, shared cache off) against read from body_cache "
              f"(memory cache off, ALLIMI_SHARED_CACHE_MB={SHARED_CACHE_MB}, "
              f"ALLIMI_CACHE_MIN_MS=0), a portal each, per row one then the other")  # fmt: skip
        print(SHARED_HEADER, flush=True)
        measured = []
        with (
            api_server(url, 1, SHARED_OFF, app=WRITING_PORTAL) as cold,
            api_server(url, 1, SHARED_ON, app=WRITING_PORTAL) as shared,
        ):
            for z in ZOOMS:
                for clients in CONCURRENCY:
                    requests = jobs(OUR_TILE, z, tiles[z])
                    made = load(cold.base_url, requests, clients, args)
                    read = load(shared.base_url, requests, clients, args)
                    measured.append(SharedRow(z, clients, made, read))
                    print(shared_row(measured[-1]), flush=True)
        added = body_cache_state(engine)[0] - rows
        print(f"  rows added to body_cache while measuring (tiles not found there): {added}")
        for z in ZOOMS:
            print(verdict(z, measured))
        for r in measured:
            errors = r.cold.errors + r.shared.errors
            checks.append((f"shared z{r.z} x{r.clients}: every request answered ({errors} failed)",
                           not errors))  # fmt: skip
        return checks
    finally:
        print(f"  body_cache emptied after the phase ({empty_body_cache(engine)} rows)")


# --- main -------------------------------------------------------------------------------------


def git_revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = [p for p in git("status", "--porcelain").splitlines() if p]
    return git("rev-parse", "--short", "HEAD") + (
        f" with {len(changed)} files changed in the work tree" if changed else ""
    )


def tipg_versions() -> str:
    """What tipg's environment holds (made on first use), for the configuration."""
    frozen = subprocess.run(
        [str(tipg_python()), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    )
    pins = dict(line.split("==", 1) for line in frozen.stdout.splitlines() if "==" in line)
    names = ("tipg", "uvicorn", "asyncpg", "mapbox-vector-tile")
    return "tipg's: " + ", ".join(f"{n} {pins[n]}" for n in names if n in pins)


def print_config(
    args: argparse.Namespace, url: str, engine: Engine, phases: Sequence[str], warmed: str,
    features: int | None, tiles: Mapping[int, list[Any]], points: int,
) -> None:  # fmt: skip
    with engine.connect() as conn:
        total, published = conn.execute(
            text("SELECT count(*), count(*) FILTER (WHERE published) FROM projects")
        ).one()
    print("Configuration")
    print(f"  database      {safe_url(url)}: {total:,} projects, {published:,} published")
    print("  map_features  " + (f"{features:,} rows" if features is not None else
                                "missing (its migration is not applied here)"))  # fmt: skip
    print(f"  revision      {git_revision()}")
    print(f"  software      Allimi: uvicorn {uvicorn_version()}, Python {sys.version.split()[0]}; "
          + ("tipg left out" if args.skip_tipg else tipg_versions()))  # fmt: skip
    print(f"  busy before   {background_busy():.0%} of the machine's CPU used by other work")
    print(f"  phases        {', '.join(phases)}")
    print(f"  per run       at most {args.duration:g} s or {args.max_requests:,} requests after "
          f"{args.warmup:g} s of warm-up; seed {args.seed}")  # fmt: skip
    print(f"  tiles         distinct tiles of {points} sample points: "
          + ", ".join(f"z{z} {len(t)}" for z, t in tiles.items()))  # fmt: skip
    print(f"  prewarmed     {warmed}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    phases = [p for p in PHASES if p in (args.only or PHASES)]
    url = args.database_url or default_database_url()
    began = time.monotonic()
    engine = engine_for(url)
    checks: list[Check] = []
    try:
        points = sample_points(engine, args.points, args.seed)
        if not points:
            print("The database holds no projects; load them with `allimi demo`.")
            return 2
        rng = random.Random(args.seed)  # noqa: S311 (sampling, not secrets)
        tiles = {z: distinct_tiles(z, points, rng) for z in ZOOMS}
        features = has_map_features(engine)
        tables = ["public.projects"] + (["public.map_features"] if features is not None else [])
        print_config(args, url, engine, phases, prewarm(engine, tables), features, tiles,
                     len(points))  # fmt: skip
        served = {"tiles", "sizes", "presence"} & set(phases)
        with ExitStack() as stack:
            tipg = None
            if {"tiles", "sizes"} & set(phases) and not args.skip_tipg:
                tipg, _ = stack.enter_context(tipg_server(url))
            ours = stack.enter_context(api_server(url, 1, UNLIMITED)).base_url if served else ""
            if "tiles" in phases:
                checks += tile_checks(measure_tiles(args, ours, tipg, tiles))
            if "sizes" in phases:
                checks += measure_sizes(args, ours, tipg, tiles)
            if "presence" in phases:
                if features is None:
                    print("\nEvery project's presence: not checked, map_features does not exist")
                    checks.append(("presence: map_features does not exist in this database",
                                   False))  # fmt: skip
                else:
                    checks += print_presence(check_presence(ours, engine, tiles, args.seed))
        view: list[ViewRun] = []
        if "view" in phases:
            view, failed = attempts(lambda: cold_view(url), args.cold_runs)
            checks += view_checks(view, failed)
        if "browser" in phases and not Path(CHROMIUM).exists():
            print(f"\nThe home page in a browser: not measured, {CHROMIUM} is missing")
            checks.append((f"browser: {CHROMIUM} is missing (Debian's chromium)", False))
        elif "browser" in phases:
            checks += browser_checks(*browser_runs(url, args.cold_runs), view)
        if "writes" in phases:
            checks += measure_writes(url, engine, points, args)
        if "shared" in phases:
            checks += measure_shared(args, url, engine, tiles)
        print()
        return finish(checks, began)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
