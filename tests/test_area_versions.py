"""Versions of areas: a write changes the tags of the tiles and views over its old and new
geometry (and their parents), not those of the rest of the city; requests about no place keep
the data version."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.areas import MAX_ZOOM, Pyramid, covering
from api.caching import Versions
from geo.filters import BBox, envelopes
from geo.map_tables import AREA_ZOOM, HALF_WORLD_M
from geo.settings import Settings
from geo.sql import Query
from geo.store.database import drop_database, engine_for
from tests.city import PARK, tile_of
from tests.conftest import WRITERS, Server, hand_made_city, serve, signed_in

# The pyramid against a brute force over every row

Row = tuple[int, int, int, int]  # zoom, x, y, version


def _overlap(row: Row, zoom: int, x0: int, y0: int, x1: int, y1: int) -> bool:
    """Whether the row's tile meets tiles x0..x1, y0..y1 of ``zoom`` (compared at the finer
    of the two zooms)."""
    z, x, y, _ = row
    m = max(z, zoom)
    rx0, ry0, rx1, ry1 = (
        x << (m - z),
        y << (m - z),
        ((x + 1) << (m - z)) - 1,
        ((y + 1) << (m - z)) - 1,
    )
    s = m - zoom
    return (
        rx0 <= ((x1 + 1) << s) - 1
        and x0 << s <= rx1
        and ry0 <= ((y1 + 1) << s) - 1
        and y0 << s <= ry1
    )


def brute_tile(rows: list[Row], z: int, x: int, y: int) -> int:
    """The newest row meeting the tile or the ring of zoom min(z + 6, 16) cells around it."""
    if z > MAX_ZOOM:
        x, y, z = x >> (z - MAX_ZOOM), y >> (z - MAX_ZOOM), MAX_ZOOM
    ring = min(z + 6, MAX_ZOOM)
    d, last = ring - z, (1 << ring) - 1
    x0, y0 = max((x << d) - 1, 0), max((y << d) - 1, 0)
    x1, y1 = min(((x + 1) << d), last), min(((y + 1) << d), last)
    return max((r[3] for r in rows if _overlap(r, ring, x0, y0, x1, y1)), default=0)


def _lon(x: float, z: int) -> float:
    return x / 2**z * 360 - 180


def _lat(y: float, z: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**z))))


def brute_bbox(rows: list[Row], bbox: BBox) -> int:
    """The newest row whose tile meets the box on the map (lon/lat)."""
    found = 0
    for z, x, y, version in rows:
        west, east, north, south = _lon(x, z), _lon(x + 1, z), _lat(y, z), _lat(y + 1, z)
        for w, s, e, n in envelopes(bbox):
            if west <= e and w <= east and south <= n and s <= north:
                found = max(found, version)
    return found


def brute_covering(rows: list[Row], bbox: BBox) -> int:
    """The newest row meeting the tiles ``covering`` gives for the box."""
    return max(
        (r[3] for e in envelopes(bbox) for r in rows if _overlap(r, *covering(e))), default=0
    )


def random_rows(rng: random.Random, count: int) -> list[Row]:
    """Rows around one zoom-10 tile (so that they meet), at every zoom, with the baseline."""
    rows: list[Row] = [(0, 0, 0, 1)]
    for version in range(2, count + 2):
        z = rng.choice([16] * 6 + list(range(8, 16)))
        x = (873 << 6) + rng.randint(-80, 150)
        y = (395 << 6) + rng.randint(-80, 150)
        rows.append((z, x >> (16 - z), y >> (16 - z), version))
    rng.shuffle(rows)
    return rows


def test_a_tile_version_is_the_newest_row_in_it_over_it_or_in_its_ring() -> None:
    rng = random.Random(13)
    for _ in range(20):
        rows = random_rows(rng, rng.choice([5, 30, 300]))
        pyramid = Pyramid()
        for row in rows:
            pyramid.add(*row)
        for _ in range(150):
            z = rng.randint(0, 18)
            x = ((873 << 6) + rng.randint(-100, 170)) >> max(16 - z, 0) << max(z - 16, 0)
            y = ((395 << 6) + rng.randint(-100, 170)) >> max(16 - z, 0) << max(z - 16, 0)
            x += rng.randint(0, 3) if z > 16 else 0
            assert pyramid.tile(z, x, y) == brute_tile(rows, z, x, y), (z, x, y)


def test_a_view_version_covers_every_row_meeting_it() -> None:
    rng = random.Random(17)
    west, north = _lon(873 << 6, 16), _lat(395 << 6, 16)
    for _ in range(20):
        rows = random_rows(rng, rng.choice([5, 30, 300]))
        pyramid = Pyramid()
        for row in rows:
            pyramid.add(*row)
        for _ in range(100):
            lon = west + rng.uniform(-0.5, 0.9)
            lat = north - rng.uniform(-0.5, 0.9)
            width = 10 ** rng.uniform(-5, 0.5)
            bbox = (lon, lat - width * 0.8, lon + width, lat)
            version = pyramid.bbox(bbox)
            assert version == brute_covering(rows, bbox)
            assert version >= brute_bbox(rows, bbox)


class Counted(dict):
    """A dict counting its lookups."""

    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        Counted.lookups += 1
        return super().get(key, default)


def counted(rows: list[Row]) -> Pyramid:
    pyramid = Pyramid()
    pyramid.exact = [Counted() for _ in pyramid.exact]
    pyramid.below = [Counted() for _ in pyramid.below]
    for row in rows:
        pyramid.add(*row)
    return pyramid


def lookups(check: Any, *args: Any) -> int:
    Counted.lookups = 0
    check(*args)
    return Counted.lookups


def test_a_check_is_a_few_hundred_lookups_at_most() -> None:
    # A city with a row in every zoom-16 tile, each of a random version
    rng = random.Random(5)
    city = [
        (16, x, y, rng.randint(2, 10**6)) for x in range(55800, 55880) for y in range(25370, 25435)
    ]
    pyramid = counted([(0, 0, 0, 1), *city])
    for z in (5, 10, 12, 14, 16, 18):
        worst = max(
            lookups(
                pyramid.tile,
                z,
                (55800 + rng.randint(0, 79)) >> 16 - min(z, 16) << max(z - 16, 0),
                (25370 + rng.randint(0, 64)) >> 16 - min(z, 16) << max(z - 16, 0),
            )
            for _ in range(50)
        )
        assert worst <= 100, (z, worst)
    for width in (0.0001, 0.01, 0.3, 360):
        assert lookups(pyramid.bbox, (127.0, 37.5, 127.0 + width, 37.5 + width / 2)) <= 100
    # The worst case: a zoom-10 tile whose whole ring holds rows, newer the later the search
    # reaches them, so that it can skip none (about 260 cells and their parents)
    x, y = 873, 395
    ring = [(16, cx, cy) for cx in range((x << 6) - 1, (x + 1 << 6) + 1)
            for cy in range((y << 6) - 1, (y + 1 << 6) + 1)
            if not ((x << 6) <= cx < (x + 1 << 6) and (y << 6) <= cy < (y + 1 << 6))]  # fmt: skip
    pyramid = counted([(0, 0, 0, 1)] + [(*t, v) for v, t in enumerate(ring, start=2)])
    assert pyramid.tile(10, x, y) == len(ring) + 1
    assert lookups(pyramid.tile, 10, x, y) <= 700


def test_a_view_spans_a_few_tiles_and_may_cross_the_antimeridian() -> None:
    for bbox in [(127.0, 37.5, 127.0, 37.5), (126.7, 37.4, 127.2, 37.7), (-180, -90, 180, 90)]:
        zoom, x0, y0, x1, y1 = covering(bbox)
        assert x1 - x0 < 4 and y1 - y0 < 4
        assert zoom == MAX_ZOOM or x1 - x0 >= 2 or y1 - y0 >= 2  # no coarser than needed
    pyramid = Pyramid()
    pyramid.add(0, 0, 0, 1)
    pyramid.add(*tile_of(179.9, 10.0, 16), 5)
    pyramid.add(*tile_of(-179.9, 10.0, 16), 6)
    assert pyramid.bbox((179.5, 9.5, -179.5, 10.5)) == 6
    assert pyramid.bbox((179.5, 9.5, 179.95, 10.5)) == 5
    assert pyramid.bbox((170.0, 9.5, 171.0, 10.5)) == 1


class FakeDatabase:
    """Answers ``geo.versions.area_versions`` from rows in memory."""

    def __init__(self, version: int, rows: list[Row]) -> None:
        self.version, self.rows_held, self.seen = version, rows, []

    async def rows(self, query: Query) -> list[tuple[Any, ...]]:
        seen = query.params["seen"]
        self.seen.append(seen)
        newer = [(self.version, *r) for r in self.rows_held if r[3] > seen]
        return newer or [(self.version, None, None, None, None)]


def test_versions_are_read_once_a_ttl_and_then_only_the_newer_rows() -> None:
    async def scenario() -> None:
        db = FakeDatabase(7, [(0, 0, 0, 3), (16, 10, 10, 7)])
        kept = Versions(ttl=3600)
        assert await kept.get(db) == 7  # type: ignore[arg-type]
        db.version, db.rows_held = 9, [*db.rows_held, (16, 20, 20, 9)]
        assert await kept.get(db) == 7  # type: ignore[arg-type]
        assert db.seen == [-1]

        db = FakeDatabase(7, [(0, 0, 0, 3), (16, 10, 10, 7)])
        fresh = Versions(ttl=0)
        assert await fresh.get(db) == 7  # type: ignore[arg-type]
        db.version, db.rows_held = 9, [*db.rows_held, (16, 20, 20, 9)]
        assert await fresh.get(db) == 9  # type: ignore[arg-type]
        assert fresh.pyramid.tile(16, 20, 20) == 9 and fresh.pyramid.tile(16, 10, 10) == 7
        assert fresh.pyramid.tile(16, 40, 40) == 3
        db.version, db.rows_held = 4, [(0, 0, 0, 4)]  # a database restored from before
        assert await fresh.get(db) == 4  # type: ignore[arg-type]
        assert fresh.pyramid.tile(16, 20, 20) == 4
        assert db.seen == [-1, 7, 9, -1]

    asyncio.run(scenario())


def test_overlapping_reads_keep_the_newest() -> None:
    class Scripted:
        """Answers each read with the next of ``answers``, after its delay."""

        def __init__(self, *answers: tuple[float, list[tuple[Any, ...]]]) -> None:
            self.answers = list(answers)

        async def rows(self, query: Query) -> list[tuple[Any, ...]]:
            delay, rows = self.answers.pop(0)
            await asyncio.sleep(delay)
            return rows

    db = Scripted(
        (0, [(7, 0, 0, 0, 3), (7, 16, 10, 10, 7)]),
        (0.05, [(8, 16, 30, 30, 8)]),  # the first of two reads answers last
        (0, [(9, 16, 30, 30, 8), (9, 16, 20, 20, 9)]),
    )

    async def scenario() -> tuple[Versions, list[int]]:
        versions = Versions(ttl=0)
        await versions.get(db)  # type: ignore[arg-type]
        first = asyncio.create_task(versions.get(db))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        second = await versions.get(db)  # type: ignore[arg-type]
        return versions, [await first, second]

    versions, read = asyncio.run(scenario())
    assert read == [9, 9]
    assert [versions.pyramid.tile(16, n, n) for n in (10, 20, 30, 40)] == [7, 9, 8, 3]


# Over HTTP, on a city of its own: an official writes through the API

# A quiet spot of Gwangjin-gu, far from the fixtures of ``tests.city``
SPOT = (127.0830, 37.5470)
NEW = {
    "title": "구의동 보도 정비",
    "category": "road",
    "project_type": "rehabilitation",
    "status": "preparation",
    "agency": "TEST-ROADS",
    "budget": "300000000",
    "planned_start": "2027-03-01",
    "planned_end": "2027-09-30",
    "published": True,
    "geometry": {"type": "Point", "coordinates": list(SPOT)},
}


@dataclass(frozen=True)
class Site:
    server: Server
    token: str
    code: str

    @property
    def http(self) -> httpx.Client:
        return self.server.http

    def edit(self, **changes: Any) -> None:
        url = f"/api/projects/{self.code}"
        version = self.http.get(url).json()["properties"]["version"]
        headers = {"Authorization": f"Bearer {self.token}", "If-Match": f'"{version}"'}
        done = self.http.patch(url, json=changes, headers=headers)
        assert done.status_code == 200, done.text


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[Site]:
    """The hand-made test city in a database of its own, with one project of its own at
    ``SPOT``, served with no reuse of versions (a write shows at once)."""
    name = "allimi_test_areas"
    url = hand_made_city(settings, name)
    engine = engine_for(url)
    with engine.begin() as conn:
        token = signed_in(conn, WRITERS)["roads"][1]
    running_settings = Settings(
        database_url=url, version_ttl=0, rate_per_s=10_000, rate_burst=10_000
    )
    for running in serve(running_settings):
        made = running.http.post(
            "/api/projects", json=NEW, headers={"Authorization": f"Bearer {token}"}
        )
        assert made.status_code == 201, made.text
        yield Site(running, token, made.json()["code"])
    engine.dispose()
    drop_database(url)


def tile_url(layer: str, z: int, x: int, y: int) -> str:
    return f"/api/layers/{layer}/tiles/{z}/{x}/{y}.mvt"


def around(lon: float, lat: float, half: float = 0.002) -> str:
    return f"{lon - half},{lat - half},{lon + half},{lat + half}"


def answers(http: httpx.Client, urls: list[str]) -> dict[str, httpx.Response]:
    found = {url: http.get(url) for url in urls}
    for url, response in found.items():
        assert response.status_code in (200, 204), (url, response.text)
    return found


def revalidated(http: httpx.Client, before: dict[str, httpx.Response]) -> dict[str, int]:
    """Each URL's status when asked again with the tag it had."""
    return {
        url: http.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code
        for url, r in before.items()
    }


def test_a_write_changes_its_tiles_and_views_and_leaves_the_rest_alone(site: Site) -> None:
    http = site.http
    here = [tile_url("projects", *tile_of(*SPOT, z)) for z in range(16, 4, -1)]
    here += [
        tile_url("conflicts", *tile_of(*SPOT, 14)),
        f"/api/layers/projects/features?bbox={around(*SPOT)}",
        f"/api/projects?bbox={around(*SPOT)}",
    ]
    park = (126.95, 37.60)  # PARK's place, seven kilometres away
    far = [tile_url("projects", *tile_of(*park, z)) for z in (16, 14, 13)]
    far += [
        tile_url("conflicts", *tile_of(*park, 12)),
        f"/api/layers/projects/features?bbox={around(*park)}",
        f"/api/layers/conflicts/features?bbox={around(*park)}",
        f"/api/projects?bbox={around(*park, half=0.01)}",
    ]
    anywhere = [
        "/api/projects",
        "/api/projects?q=보도",
        "/api/layers/projects/features",
        tile_url("districts", *tile_of(*park, 14)),  # district totals change with any project
        f"/api/layers/districts/features?bbox={around(*park)}",
    ]
    before = answers(http, here + far + anywhere)
    assert PARK.code in before[f"/api/projects?bbox={around(*park, half=0.01)}"].text

    site.edit(category="water")

    after = answers(http, here + far + anywhere)
    changed = [u for u in here + anywhere if after[u].headers["etag"] != before[u].headers["etag"]]
    assert changed == here + anywhere
    drawn = [u for u in here if "/conflicts/" not in u]  # no conflict there: empty tiles
    assert [u for u in drawn if after[u].content == before[u].content] == []  # made again
    assert revalidated(http, {u: before[u] for u in far}) == dict.fromkeys(far, 304)
    assert {u: after[u].headers["etag"] for u in far} == {u: before[u].headers["etag"] for u in far}


def test_a_tile_changes_when_a_write_lands_within_its_buffer(site: Site) -> None:
    http = site.http
    z, x, y = tile_of(*SPOT, 16)
    east_edge = (x + 1) / 2**z * 360 - 180
    inside = [east_edge - 0.00002, SPOT[1]]  # 1.8 m inside the tile: within the next's buffer
    urls = {dx: tile_url("projects", z, x + dx, y) for dx in (0, 1, 2)}
    before = answers(http, list(urls.values()))

    site.edit(geometry={"type": "Point", "coordinates": inside})

    after = answers(http, list(urls.values()))
    assert after[urls[0]].headers["etag"] != before[urls[0]].headers["etag"]
    assert after[urls[0]].content != before[urls[0]].content  # the project moved in its tile
    assert after[urls[1]].headers["etag"] != before[urls[1]].headers["etag"]  # its buffer
    assert revalidated(http, {urls[2]: before[urls[2]]}) == {urls[2]: 304}  # beyond it
    site.edit(geometry=NEW["geometry"])


# The tiles a geometry's change marks, against a brute force


def brute_area_tiles(west: float, south: float, east: float, north: float) -> set[tuple]:
    """The zoom-16 tiles meeting the box, or those of the finest coarser zoom whose tiles it
    spans fewer than 8 of each way."""
    n = 1 << AREA_ZOOM

    def index(metres: float) -> int:
        return min(max(math.floor(metres / (2 * HALF_WORLD_M) * n), 0), n - 1)

    x0, x1, y0, y1 = (
        index(west + HALF_WORLD_M),
        index(east + HALF_WORLD_M),
        index(HALF_WORLD_M - north),
        index(HALF_WORLD_M - south),
    )
    for k in range(AREA_ZOOM + 1):
        if (x1 >> k) - (x0 >> k) < 8 and (y1 >> k) - (y0 >> k) < 8:
            return {
                (AREA_ZOOM - k, x, y)
                for x in range(x0 >> k, (x1 >> k) + 1)
                for y in range(y0 >> k, (y1 >> k) + 1)
            }
    raise AssertionError("at zoom 0 one tile holds the world")


def test_a_change_marks_the_tiles_of_its_box(engine) -> None:
    """Points, lines of a few tiles, a district, a country, the world, its edges."""
    draw = random.Random(19)
    h = HALF_WORLD_M
    boxes = [(14143000.0, 4512000.0, 14143000.0, 4512000.0), (-h, -h, h, h),
             (h - 1, 0.0, h, 1.0), (-h, h - 1, -h + 1, h)]  # fmt: skip
    for size in (0, 50, 300, 2_000, 20_000, 300_000, 3_000_000, 30_000_000):
        for _ in range(12):
            x, y = draw.uniform(-h, h - size), draw.uniform(-h, h - size)
            boxes.append((x, y, x + draw.uniform(0, size), y + draw.uniform(0, size)))
    marked = "SELECT zoom, x, y FROM area_tiles(ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 3857))"
    with engine.connect() as conn:
        for west, south, east, north in boxes:
            box = {"w": west, "s": south, "e": east, "n": north}
            found = conn.exec_driver_sql(marked, box).all()
            assert len(found) == len(set(found))
            assert set(found) == brute_area_tiles(west, south, east, north), (west, south)
