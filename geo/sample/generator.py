"""Deterministic synthetic projects for a demo city, made in vectorised batches.

The same ``(projects, seed, as_of)`` always gives the same projects: batch ``k`` draws from
its own random stream seeded by ``(seed, k)``. Shapes follow the work: street works are lines
of a few segments, facilities are points, sites are small rotated rectangles; every shape lies
inside its district. A share of trench works is laid a few metres beside another one with an
overlapping schedule, so that the planners' conflict tools have something to find.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import shapely
from babel.numbers import get_group_symbol

from geo.boundaries import Area
from geo.earth import METRES_PER_DEGREE
from geo.flags import STALE_DAYS
from geo.sample.catalogue import CATEGORIES, OFFICE, TRENCH_CATEGORIES, Catalogue
from geo.sample.money import Money

BATCH = 10_000
MAX_REPORTS = 36
TWIN_SHARE = 0.08

CATEGORY_CODES = list(CATEGORIES)
CATEGORY_WEIGHTS = np.array([c.weight for c in CATEGORIES.values()])
CATEGORY_WEIGHTS = CATEGORY_WEIGHTS / CATEGORY_WEIGHTS.sum()

PROJECT_COLUMNS = [
    "id",
    "code",
    "title",
    "description",
    "category",
    "project_type",
    "status",
    "agency_code",
    "contractor",
    "supervisor",
    "officer_name",
    "officer_phone",
    "currency",
    "budget",
    "contract_value",
    "spent",
    "progress_actual",
    "progress_planned",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "district_code",
    "address",
    "published",
    "is_sample",
    "created_at",
    "updated_at",
    "geom",
]
REPORT_COLUMNS = ["project_id", "reported_on", "actual", "planned", "spent_to_date", "note"]
DOCUMENT_COLUMNS = [
    "project_id",
    "title",
    "document_type",
    "url",
    "media_type",
    "published_on",
]


@dataclass(frozen=True)
class SampleSpec:
    projects: int = 3000
    seed: int = 2013
    as_of: date = date(2026, 11, 1)
    first_id: int = 1


@dataclass
class Batch:
    projects: pd.DataFrame
    reports: pd.DataFrame
    documents: pd.DataFrame


class _Places:
    """Districts and the neighbourhoods inside them, for sampling points and naming places."""

    def __init__(self, districts: list[Area], dongs: list[Area], name: Callable[[Area], str]):
        self.districts = districts
        self.names = np.array([name(d) for d in districts], dtype=object)
        self.shapes = np.array([d.geom for d in districts], dtype=object)
        for geom in self.shapes:
            shapely.prepare(geom)
        areas = np.array([d.geom.area for d in districts])
        self.weights = areas / areas.sum()
        self.dongs = dongs
        self.dong_tree = shapely.STRtree([d.geom for d in dongs])
        self.dong_names = np.array([name(d) for d in dongs], dtype=object)

    def sample_points(self, rng: np.random.Generator, district: np.ndarray) -> np.ndarray:
        """One random point inside each row's district (rejection sampling in its bbox)."""
        x = np.empty(len(district))
        y = np.empty(len(district))
        for k in np.unique(district):
            rows = np.flatnonzero(district == k)
            minx, miny, maxx, maxy = self.districts[k].geom.bounds
            todo = rows
            while len(todo):
                cx = rng.uniform(minx, maxx, len(todo) * 3)
                cy = rng.uniform(miny, maxy, len(todo) * 3)
                inside = shapely.contains_xy(self.shapes[k], cx, cy)
                cx, cy = cx[inside][: len(todo)], cy[inside][: len(todo)]
                x[todo[: len(cx)]], y[todo[: len(cy)]] = cx, cy
                todo = todo[len(cx) :]
        return np.column_stack([x, y])

    def dong_of(self, points: np.ndarray) -> np.ndarray:
        """The name of the neighbourhood each point falls in (the nearest on a boundary gap)."""
        geoms = shapely.points(points)
        nearest = self.dong_tree.query_nearest(geoms, all_matches=False)
        out = np.empty(len(points), dtype=object)
        out[nearest[0]] = self.dong_names[nearest[1]]
        return out


def _metres_to_degrees(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 1.0 / (METRES_PER_DEGREE * np.cos(np.radians(lat))), np.full(
        len(lat), 1.0 / METRES_PER_DEGREE
    )


def _lines(rng: np.random.Generator, start: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Street-like polylines of 1 to 3 segments that mostly run on, sometimes turn a corner."""
    n = len(start)
    nseg = rng.integers(1, 4, n)
    heading = rng.choice([0.0, 90.0, 180.0, 270.0], n) + rng.normal(0, 15, n)
    kx, ky = _metres_to_degrees(start[:, 1])
    coords = []
    indices = []
    for i in range(n):
        x, y = start[i]
        pts = [(x, y)]
        h = heading[i]
        for s in range(nseg[i]):
            if s:
                h += rng.choice([-90.0, 0.0, 0.0, 0.0, 90.0]) + rng.normal(0, 6)
            length = seg[i] * rng.uniform(0.5, 1.0)
            x += np.cos(np.radians(h)) * length * kx[i]
            y += np.sin(np.radians(h)) * length * ky[i]
            pts.append((x, y))
        coords.extend(pts)
        indices.extend([i] * len(pts))
    return shapely.linestrings(np.array(coords), indices=np.array(indices))


def _rectangles(rng: np.random.Generator, centre: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Rotated rectangles (building and park sites) around each centre."""
    n = len(centre)
    w = side * rng.uniform(0.6, 1.0, n)
    h = side * rng.uniform(0.6, 1.0, n)
    angle = np.radians(rng.uniform(0, 90, n))
    kx, ky = _metres_to_degrees(centre[:, 1])
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float) / 2
    dx = corners[None, :, 0] * w[:, None]
    dy = corners[None, :, 1] * h[:, None]
    rx = dx * np.cos(angle)[:, None] - dy * np.sin(angle)[:, None]
    ry = dx * np.sin(angle)[:, None] + dy * np.cos(angle)[:, None]
    xs = centre[:, 0, None] + rx * kx[:, None]
    ys = centre[:, 1, None] + ry * ky[:, None]
    return shapely.polygons(np.stack([xs, ys], axis=-1))


def _shapes(
    rng: np.random.Generator,
    places: _Places,
    district: np.ndarray,
    kind: np.ndarray,
    size: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A geometry per row inside its district; returns (geometries, anchor points)."""
    geoms = np.empty(len(kind), dtype=object)
    anchors = places.sample_points(rng, district)
    geoms[:] = shapely.points(anchors)
    todo = np.flatnonzero(kind != "point")
    for _ in range(6):
        if not len(todo):
            break
        lines = kind[todo] == "line"
        made = np.empty(len(todo), dtype=object)
        if lines.any():
            made[lines] = _lines(rng, anchors[todo[lines]], size[todo[lines]])
        if (~lines).any():
            made[~lines] = _rectangles(rng, anchors[todo[~lines]], size[todo[~lines]])
        ok = shapely.within(made, places.shapes[district[todo]])
        geoms[todo[ok]] = made[ok]
        todo = todo[~ok]
        if len(todo):
            anchors[todo] = places.sample_points(rng, district[todo])
            geoms[todo] = shapely.points(anchors[todo])
    return geoms, anchors


def _s_curve(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return 100.0 * (3 * t**2 - 2 * t**3)


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> np.ndarray:
    return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]


def _fill(pattern: str, field: Callable[[str], np.ndarray], n: int) -> np.ndarray:
    """``pattern`` for each of ``n`` rows, each ``{name}`` in it replaced by ``field(name)``."""
    out = np.full(n, "", dtype=object)
    for literal, name, _spec, _conversion in string.Formatter().parse(pattern):
        out = out + literal
        if name is not None:
            out = out + field(name)
    return out


def _names(
    rng: np.random.Generator, patterns: list[str], pools: dict[str, list[str]], n: int
) -> np.ndarray:
    """Invented names: one of ``patterns`` per row, each field drawn from its pool."""
    made = [_fill(p, lambda name: _pick(rng, pools[name], n), n) for p in patterns]
    if len(made) == 1:
        return made[0]
    return np.choose(rng.integers(0, len(made), n), made)


def _days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("timedelta64[D]")


def generate(
    spec: SampleSpec, catalogue: Catalogue, districts: list[Area], dongs: list[Area]
) -> Iterator[Batch]:
    """The sample projects in the catalogue's city: its districts (level 1) and neighbourhoods
    (level 2, or the districts), its language, currency, time zone and code prefix."""
    places = _Places(districts, dongs, lambda area: catalogue.local(area.name))
    counters: dict[int, int] = {}
    for start in range(0, spec.projects, BATCH):
        n = min(BATCH, spec.projects - start)
        rng = np.random.default_rng([spec.seed, start // BATCH])
        yield _batch(rng, catalogue, places, spec, spec.first_id + start, n, counters)


def _batch(
    rng: np.random.Generator,
    catalogue: Catalogue,
    places: _Places,
    spec: SampleSpec,
    first_id: int,
    n: int,
    counters: dict[int, int],
) -> Batch:
    texts = catalogue.texts
    money = Money(catalogue.jurisdiction.currency)
    ids = np.arange(first_id, first_id + n)
    category = np.array(CATEGORY_CODES, dtype=object)[
        rng.choice(len(CATEGORY_CODES), n, p=CATEGORY_WEIGHTS)
    ]
    district = rng.choice(len(places.districts), n, p=places.weights)

    # Twins: a trench work laid beside the previous row's trench work, weeks apart.
    is_trench = np.isin(category, TRENCH_CATEGORIES)
    twin = np.zeros(n, dtype=bool)
    twin[1:] = is_trench[1:] & is_trench[:-1] & (rng.random(n - 1) < TWIN_SHARE / 0.5)
    twin[1:] &= ~twin[:-1]
    district[1:][twin[1:]] = district[:-1][twin[1:]]

    work_index = np.array([rng.integers(0, len(texts.works[c])) for c in category])
    works = [texts.works[c][w] for c, w in zip(category, work_index, strict=True)]
    for i in np.flatnonzero(twin):
        line_works = [w for w in texts.works[category[i]] if w.shape == "line"]
        works[i] = line_works[0]
    kind = np.array([w.shape for w in works], dtype=object)
    lo = np.array([CATEGORIES[c].size_m[0] for c in category])
    hi = np.array([CATEGORIES[c].size_m[1] for c in category])
    size = rng.uniform(lo, hi)
    geoms, anchors = _shapes(rng, places, district, kind, size)

    twin &= np.roll(shapely.get_type_id(geoms) == 1, 1) & (kind == "line")
    for i in np.flatnonzero(twin):
        shift = rng.uniform(2.0, 6.0) / METRES_PER_DEGREE
        moved = shapely.transform(geoms[i - 1], lambda c, s=shift: c + s)
        if shapely.within(moved, places.shapes[district[i]]):
            geoms[i] = moved
            anchors[i] = anchors[i - 1] + shift
        else:
            twin[i] = False

    # Schedule and status as of spec.as_of.
    as_of = np.datetime64(spec.as_of, "D")
    duration = np.maximum(
        20,
        np.array([CATEGORIES[c].duration_days for c in category]) * rng.lognormal(0, 0.4, n),
    ).astype(int)
    lead = np.where(
        rng.random(n) < 0.12, rng.integers(1, 200, n), -(duration * rng.uniform(0, 1.5, n))
    )
    planned_start = as_of + _days(lead.astype(int))
    prev_start = np.roll(planned_start, 1)
    planned_start = np.where(twin, prev_start + _days(rng.integers(-30, 150, n)), planned_start)
    planned_end = planned_start + _days(duration)
    elapsed = (as_of - planned_start).astype(int)
    t_now = elapsed / duration

    status = np.where(
        planned_start > as_of,
        np.where(rng.random(n) < 0.3, "identification", "preparation"),
        np.where(planned_end < as_of, "completion", "implementation"),
    ).astype(object)
    overdue = (status == "completion") & (rng.random(n) < 0.1)
    status[overdue] = "implementation"
    status[(status == "implementation") & (rng.random(n) < 0.03)] = "suspended"
    status[(status == "preparation") & (rng.random(n) < 0.03)] = "cancelled"
    started = np.isin(status, ["implementation", "suspended", "completion"])
    done = status == "completion"

    actual_start = np.where(
        started,
        np.minimum(planned_start + _days(rng.integers(0, 25, n)), as_of),
        np.datetime64("NaT"),
    )
    actual_end = np.where(
        done,
        np.minimum(np.maximum(planned_end + _days(rng.integers(-15, 60, n)), actual_start), as_of),
        np.datetime64("NaT"),
    )

    planned_pct = np.where(
        np.isin(status, ["identification", "preparation", "cancelled"]), 0.0, _s_curve(t_now)
    )
    behind = rng.random(n) < 0.15
    factor = np.where(
        behind, rng.uniform(0.45, 0.8, n), np.clip(rng.normal(1.0, 0.06, n), 0.85, 1.15)
    )
    factor[status == "suspended"] = rng.uniform(0.3, 0.7, (status == "suspended").sum())
    actual_pct = np.where(started, np.clip(planned_pct * factor, 0.0, 99.5), 0.0)
    actual_pct[done] = 100.0
    actual_pct[overdue] = np.clip(rng.uniform(80, 98, overdue.sum()), 0, 99.5)
    planned_pct, actual_pct = np.round(planned_pct, 1), np.round(actual_pct, 1)

    # Money (in the city's currency): budget, the winning bid, and what has been paid.
    budget = money.budgets(
        np.array([CATEGORIES[c].budget_usd for c in category]), rng.lognormal(0, 0.7, n)
    )
    contracted = started | ((status == "preparation") & (rng.random(n) < 0.5))
    contract = np.where(contracted, money.paid(budget * rng.uniform(0.82, 0.97, n)), np.nan)
    base = np.nan_to_num(contract, nan=0.0)
    spent = base * actual_pct / 100 * rng.uniform(0.9, 1.04, n)
    over = started & (rng.random(n) < 0.05)
    spent[over] = budget[over] * rng.uniform(1.03, 1.3, over.sum())
    ahead = started & ~over & ~done & (rng.random(n) < 0.06)
    spent[ahead] = base[ahead] * np.minimum(
        actual_pct[ahead] / 100 + rng.uniform(0.2, 0.35, ahead.sum()), 0.98
    )
    spent = money.paid(spent)

    # When it was last updated: most within a month, some left stale.
    stale = started & ~done & (rng.random(n) < 0.06)
    last_update = np.where(
        stale,
        as_of - _days(rng.integers(STALE_DAYS + 1, 240, n)),
        as_of - _days(rng.integers(0, 30, n)),
    )
    last_update = np.where(
        done, np.minimum(actual_end + _days(rng.integers(0, 30, n)), as_of), last_update
    )
    last_update = np.where(started, np.maximum(last_update, actual_start), last_update)
    created = np.minimum(planned_start, as_of) - _days(rng.integers(30, 200, n))
    last_update = np.where(
        started, last_update, np.maximum(created, as_of - _days(rng.integers(0, 90, n)))
    )
    clock = rng.integers(9 * 3600, 18 * 3600, n).astype("timedelta64[s]")  # office hours

    # Names, people and places.
    dongs = places.dong_of(anchors)
    gu = np.array([places.districts[k].code for k in district], dtype=object)
    gu_name = places.names[district]
    commissioners = {c: catalogue.category_agencies(c) for c in CATEGORIES}
    agency = np.array(
        [commissioners[c][rng.integers(0, len(commissioners[c]))] for c in category],
        dtype=object,
    )
    agency = np.where(agency == OFFICE, [catalogue.office_code(g) for g in gu], agency)
    contractor = _names(rng, texts.contractor, texts.pools, n)
    supervisor = _names(rng, texts.supervisor, texts.pools, n)
    contractor[~contracted] = supervisor[~contracted] = None
    phone = np.array(
        [texts.phone.format(number=v) for v in rng.integers(0, 10000, n)], dtype=object
    )
    plane = _local_metres(geoms, anchors[:, 1])
    size_text = np.where(
        kind == "line", np.round(shapely.length(plane), -1), np.round(shapely.area(plane), -1)
    ).astype(int)
    title = np.array(
        [w.title.format(place=d) for w, d in zip(works, dongs, strict=True)], dtype=object
    )
    group = get_group_symbol(catalogue.language)
    description = np.array(
        [
            texts.description.format(scope=w.scope.format(size=f"{s:,}".replace(",", group)))
            for w, s in zip(works, size_text, strict=True)
        ],
        dtype=object,
    )
    years = planned_start.astype("datetime64[Y]").astype(int) + 1970
    code = np.empty(n, dtype=object)
    for row, year in enumerate(years.tolist()):
        counters[year] = counters.get(year, 0) + 1
        code[row] = f"{catalogue.prefix}-{year}-{counters[year]:06d}"
    address = _fill(texts.address, {"district": gu_name, "place": dongs}.__getitem__, n)
    timezone = catalogue.jurisdiction.timezone

    projects = pd.DataFrame(
        {
            "id": ids,
            "code": code,
            "title": title,
            "description": description,
            "category": category,
            "project_type": [w.project_type for w in works],
            "status": status,
            "agency_code": agency,
            "contractor": contractor,
            "supervisor": supervisor,
            "officer_name": _names(rng, texts.person, texts.pools, n),
            "officer_phone": phone,
            "currency": catalogue.jurisdiction.currency,
            "budget": money.column(budget),
            "contract_value": money.column(np.where(contracted, contract, np.nan)),
            "spent": money.column(spent),
            "progress_actual": actual_pct,
            "progress_planned": planned_pct,
            "planned_start": planned_start,
            "planned_end": planned_end,
            "actual_start": actual_start,
            "actual_end": actual_end,
            "district_code": gu,
            "address": address,
            "published": True,
            "is_sample": True,
            "created_at": pd.to_datetime(created + clock).tz_localize(timezone),
            "updated_at": pd.to_datetime(last_update + clock).tz_localize(timezone),
            "geom": shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True),
        },
        columns=PROJECT_COLUMNS,
    )

    reports = _reports(
        money,
        texts.delay_note,
        ids,
        started,
        actual_start,
        last_update,
        actual_end,
        planned_start,
        duration,
        factor,
        actual_pct,
        spent,
        done,
    )
    documents = _documents(
        rng, catalogue, ids, code, title, status, created, actual_start, actual_end, last_update
    )
    return Batch(projects, reports, documents)


def _local_metres(geoms: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Each geometry in metres on the equirectangular plane at its row's latitude ``lat``
    (good to ~0.1% at city scale)."""
    coords, row = shapely.get_coordinates(geoms, return_index=True)
    coords = coords * METRES_PER_DEGREE
    coords[:, 0] *= np.cos(np.radians(lat))[row]
    return shapely.set_coordinates(np.array(geoms, copy=True), coords)


def _reports(
    money: Money,
    delay_note: str,
    ids: np.ndarray,
    started: np.ndarray,
    actual_start: np.ndarray,
    last_update: np.ndarray,
    actual_end: np.ndarray,
    planned_start: np.ndarray,
    duration: np.ndarray,
    factor: np.ndarray,
    actual_now: np.ndarray,
    spent_now: np.ndarray,
    done: np.ndarray,
) -> pd.DataFrame:
    """Progress reports at each month end from the start, and one on the day of the last update."""
    first = actual_start.astype("datetime64[M]")
    until = np.where(done, actual_end, last_update)
    months = (until.astype("datetime64[M]") - first).astype(int)
    count = np.where(started, np.minimum(np.maximum(months, 0) + 1, MAX_REPORTS), 0)
    rows = np.repeat(np.arange(len(ids)), count)
    if not len(rows):
        return pd.DataFrame(columns=REPORT_COLUMNS)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
    is_last = offset == count[rows] - 1
    back = (count[rows] - 1 - offset).astype("timedelta64[M]")
    month = until[rows].astype("datetime64[M]") - back
    month_end = (month + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
    day = np.where(is_last, until[rows], month_end)
    planned = _s_curve((day - planned_start[rows]).astype(int) / duration[rows])
    actual = np.minimum(planned * factor[rows], actual_now[rows])
    actual = np.where(is_last, actual_now[rows], actual)
    actual = np.where(done[rows] & is_last, 100.0, actual)
    share = np.where(actual_now[rows] > 0, actual / np.maximum(actual_now[rows], 1e-9), 0)
    spent = spent_now[rows] * np.clip(share, 0, 1)
    note = np.where(actual + 10 < planned, delay_note, "")
    return pd.DataFrame(
        {
            "project_id": ids[rows],
            "reported_on": day,
            "actual": np.round(actual, 1),
            "planned": np.round(planned, 1),
            "spent_to_date": money.column(spent),
            "note": note,
        },
        columns=REPORT_COLUMNS,
    )


def _documents(
    rng: np.random.Generator,
    catalogue: Catalogue,
    ids: np.ndarray,
    code: np.ndarray,
    title: np.ndarray,
    status: np.ndarray,
    created: np.ndarray,
    actual_start: np.ndarray,
    actual_end: np.ndarray,
    last_update: np.ndarray,
) -> pd.DataFrame:
    """The plan for all; contract and site photo once started; the completion report."""
    out: dict[str, list[object]] = {c: [] for c in DOCUMENT_COLUMNS}

    def add(i: int, doc_title: str, doc_type: str, media: str, on: np.datetime64) -> None:
        out["project_id"].append(int(ids[i]))
        out["title"].append(doc_title)
        out["document_type"].append(doc_type)
        out["url"].append(f"/sample-documents/{code[i]}/{doc_type}")
        out["media_type"].append(media)
        out["published_on"].append(on)

    photo_days = rng.integers(10, 120, len(ids))
    named = catalogue.document_title
    for i in range(len(ids)):
        add(i, named("projectPlan", title[i]), "projectPlan", "text/html", created[i])
        if status[i] in ("implementation", "suspended", "completion"):
            add(
                i,
                named("contractSummary", title[i]),
                "contractSummary",
                "text/html",
                actual_start[i],
            )
            add(
                i,
                named("illustration", title[i]),
                "illustration",
                "image/svg+xml",
                min(actual_start[i] + _days(photo_days[i]), last_update[i]),
            )
        if status[i] == "completion":
            add(
                i,
                named("completionCertificate", title[i]),
                "completionCertificate",
                "text/html",
                actual_end[i],
            )
    return pd.DataFrame(out, columns=DOCUMENT_COLUMNS)
