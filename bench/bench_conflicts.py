"""Benchmark the conflict engine on the 1,000,000-project database: the full scan against a
geopandas baseline, the check of one work, and what the re-check adds to a write.

What it measures, in one run:

* the full city-wide scan, ``store.scan`` as ``allimi conflicts scan`` runs it (the rules from
  the ``ALLIMI_CONFLICT_*`` settings), committed: its time, its phases (``geo.conflicts.scan``
  logs them) and the conflicts it finds by kind;
* a geopandas baseline on the same works: read from PostGIS (timed apart), projected to a metric
  CRS (EPSG:5186 in Korea, else the works' UTM zone), buffered by the buffer distance and
  ``sjoin``-ed (``intersects``) with themselves, then the periods tested as the rules do (a clash
  shares at least one day, a dig-once pair is fewer than ``gap_days`` apart); its pairs are
  compared with the scan's clashes and dig-once pairs, and the pairs only one side has are
  listed with their true distance (geography, on the spheroid): the boundary ties;
* ``find.unsaved`` (the check of an unsaved work, as the editor asks it) for random existing
  works: their geometry, period, category and code, on a connection set as the API's (no JIT,
  one core): p50 and p95;
* the re-check a write runs (``store.recheck([id])``): one project's UPDATE (its planned end
  moved a day, a field the rules read) alone, and followed by the re-check, in one transaction
  rolled back, alternating, for random works: p50 and p95 of each and of the paired difference.

Targets (the issue's): the scan under 30 s and faster than the geopandas baseline; the check's
p95 under 20 ms. The exit status is 0 when every target passes.

``--limit-ids N`` takes only the works with ids up to N, on both sides, for development: the
scan then runs ``geo.conflicts.scan.run`` on them into an emptied table, as a first scan would,
in a transaction that is rolled back (the product's scan takes the whole city; merged with the
conflicts of the rest of the city, the part's would delete them all). Without it the scan is
committed, as the command's is: the table then holds the conflicts of the current rules, as
after ``allimi conflicts scan``.

Run from the repository root::

    .venv/bin/python bench/bench_conflicts.py                   # database allimi_bench
    .venv/bin/python bench/bench_conflicts.py --limit-ids 50000 --no-baseline
    .venv/bin/python bench/bench_conflicts.py --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import random
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg2
import shapely
from bench_api import background_busy, default_database_url, finish, percentile, safe_url
from sqlalchemy import Connection, Engine

from api.database import libpq_dsn
from geo.conflicts import find, scan, store
from geo.conflicts.rules import STORED, ConflictSettings, Rules
from geo.store.database import engine_for

TARGET_SCAN_S = 30.0
TARGET_CHECK_P95_MS = 20.0
KOREA_CRS = 5186  # Korea 2000 / Central Belt 2010, metres
EPOCH = "date '2000-01-01'"  # periods travel as day numbers from here
PAIR_SHIFT = 32  # a pair's key: a_id << 32 | b_id << 1 | clash
SHOWN = 10  # differing pairs listed on each side
# The API's connections (api.database): no JIT, one core per statement
API_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="database to benchmark (default: allimi_bench)")
    parser.add_argument(
        "--limit-ids", type=int, default=0,
        help="only works with ids up to N, on both sides; the scan is then rolled back",
    )  # fmt: skip
    parser.add_argument("--checks", type=int, default=200, help="one-work checks timed")
    parser.add_argument("--writes", type=int, default=200, help="writes timed (with, without)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before each")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the samples")
    parser.add_argument("--no-baseline", action="store_true", help="skip geopandas")
    return parser.parse_args(argv)


def works_sql(limit: int) -> str:
    """The works as ``find`` defines them, those with ids up to ``limit`` (0: all)."""
    if limit <= 0:
        return find.WORKS
    return f"SELECT * FROM ({find.WORKS}) w WHERE w.id <= {int(limit)}"  # noqa: S608 - a number


# --- the scan -------------------------------------------------------------------------------


class Phases(logging.Handler):
    """The phases ``geo.conflicts.scan`` logs: (name, seconds)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            name, seconds = record.args
            self.seen.append((str(name), float(seconds)))  # type: ignore[arg-type]


@contextmanager
def phases_logged() -> Iterator[Phases]:
    logger = logging.getLogger(scan.__name__)
    handler, level = Phases(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@dataclass
class ScanResult:
    seconds: float
    merged: store.Merged
    phases: list[tuple[str, float]]
    kinds: dict[str, int]
    rules: Rules  # as stored, as the scan followed them
    keys: np.ndarray = field(repr=False)  # clashes and dig-once pairs (``pair_keys``)


PAIR_KEYS = f"""
    COPY (SELECT (a_id << {PAIR_SHIFT}) | (b_id << 1) | (kind = 'clash')::int::bigint
          FROM conflicts WHERE holds AND kind <> 'moratorium') TO STDOUT (FORMAT binary)"""  # noqa: S608


def pair_keys(conn: Connection) -> np.ndarray:
    """The stored clashes and dig-once pairs that hold, as sorted keys (binary COPY: a row is a
    field count, a length and the big-endian value; 19 bytes of header, 2 of trailer)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    buffer = io.BytesIO()
    raw.cursor().copy_expert(PAIR_KEYS, buffer)
    layout = [("n", ">i2"), ("l", ">i4"), ("v", ">i8")]
    rows = np.frombuffer(buffer.getbuffer()[19:-2], dtype=layout)
    return np.sort(rows["v"].astype(np.int64))


def kinds_held(conn: Connection) -> dict[str, int]:
    rows = conn.exec_driver_sql(
        "SELECT kind, count(*) FROM conflicts WHERE holds GROUP BY kind ORDER BY kind"
    ).all()
    return {str(k): int(n) for k, n in rows}


def run_scan(engine: Engine, rules: Rules, limit: int) -> ScanResult:
    """The product's scan by ``rules``, committed; or, on part of the city, its steps by the
    stored rules, rolled back."""
    with engine.connect() as conn, phases_logged() as logged:
        transaction = conn.begin()
        began = time.perf_counter()
        if limit <= 0:
            merged = store.scan(conn, rules)
            transaction.commit()
            seconds = time.perf_counter() - began
            transaction = conn.begin()
        else:
            conn.exec_driver_sql(store.NO_JIT + store.SCAN_LOCK.sql + "; TRUNCATE conflicts")
            merged = store.Merged(*scan.run(conn, store.SAME, works_sql(limit)))
            seconds = time.perf_counter() - began
        kinds, followed, keys = kinds_held(conn), scan.stored_rules(conn), pair_keys(conn)
        transaction.rollback()
        if limit > 0:
            # The merge's ANALYZE wrote the row count of the part into pg_class in place, and a
            # rollback leaves it there: the planner would take the table for the part's size.
            conn.exec_driver_sql("ANALYZE conflicts")
            conn.commit()
    return ScanResult(seconds, merged, logged.seen, kinds, followed, keys)


# --- the geopandas baseline -----------------------------------------------------------------


@dataclass
class Baseline:
    read_s: float
    join_s: float
    crs: str
    works: int
    keys: np.ndarray = field(repr=False)
    frame: gpd.GeoDataFrame = field(repr=False)  # the works, projected, indexed by id


def metric_crs(frame: gpd.GeoDataFrame) -> Any:
    """EPSG:5186 for works in Korea (the brief's choice for Seoul), else their UTM zone."""
    x0, y0, x1, y1 = frame.total_bounds
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    return KOREA_CRS if 124 <= lon <= 132 and 33 <= lat <= 39 else frame.estimate_utm_crs()


def baseline(engine: Engine, rules: Rules, limit: int) -> Baseline:
    """The works read into geopandas, then paired by a buffered ``sjoin`` and the periods."""
    sql = (
        f"SELECT w.id::int AS id, (w.s - {EPOCH})::int AS s, (w.e - {EPOCH})::int AS e, "  # noqa: S608
        f"w.geom FROM ({works_sql(limit)}) w"
    )
    began = time.perf_counter()
    works = gpd.read_postgis(sql, engine, geom_col="geom")
    read_s = time.perf_counter() - began
    began = time.perf_counter()
    crs = metric_crs(works)
    projected = works.to_crs(crs)
    near = gpd.GeoDataFrame(
        projected[["id", "s", "e"]], geometry=projected.buffer(rules.buffer_m), crs=crs
    )
    pairs = gpd.sjoin(near, projected, predicate="intersects", lsuffix="a", rsuffix="b")
    a, b = pairs["id_a"].to_numpy(np.int64), pairs["id_b"].to_numpy(np.int64)
    sa, ea = pairs["s_a"].to_numpy(), pairs["e_a"].to_numpy()
    sb, eb = pairs["s_b"].to_numpy(), pairs["e_b"].to_numpy()
    del pairs
    keep = (a < b) & (sb <= ea + rules.gap_days) & (eb >= sa - rules.gap_days)
    clash = (np.minimum(ea, eb) - np.maximum(sa, sb) + 1 >= 1)[keep]
    keys = np.sort((a[keep] << PAIR_SHIFT) | (b[keep] << 1) | clash.astype(np.int64))
    join_s = time.perf_counter() - began
    return Baseline(read_s, join_s, str(crs), len(works), keys, projected.set_index("id"))


# --- comparing ------------------------------------------------------------------------------


def split(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return keys >> PAIR_SHIFT, (keys >> 1) & ((1 << (PAIR_SHIFT - 1)) - 1), keys & 1


TRUE_DISTANCES = """
    SELECT q.a, q.b, ST_Distance(a.geom::geography, b.geom::geography)
    FROM unnest(%(a)s::bigint[], %(b)s::bigint[]) AS q(a, b)
    JOIN projects a ON a.id = q.a JOIN projects b ON b.id = q.b"""


def true_distances(engine: Engine, keys: np.ndarray) -> dict[tuple[int, int], float]:
    a, b, _ = split(keys)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(TRUE_DISTANCES, {"a": a.tolist(), "b": b.tolist()}).all()
    return {(int(x), int(y)): float(d) for x, y, d in rows}


def compare(engine: Engine, ours: np.ndarray, theirs: Baseline, buffer_m: float) -> bool:
    """Print how the pair sets agree; True when they differ only at the buffer's boundary
    (their true distance within 5 cm of it) or not at all."""
    agree = np.intersect1d(ours, theirs.keys, assume_unique=True)
    only_ours = np.setdiff1d(ours, theirs.keys, assume_unique=True)
    only_theirs = np.setdiff1d(theirs.keys, ours, assume_unique=True)
    kind_only = len(np.intersect1d(only_ours >> 1, only_theirs >> 1))
    print("\nPairs compared (clashes and dig-once pairs)")
    print(f"  scan {len(ours):,}, geopandas {len(theirs.keys):,}: {len(agree):,} agree (pair "
          f"and kind), {len(only_ours):,} only in the scan, {len(only_theirs):,} only in "
          f"geopandas ({kind_only:,} of them the same pair of another kind)")  # fmt: skip
    differing = np.concatenate([only_ours, only_theirs])
    distances = true_distances(engine, differing) if len(differing) else {}
    ties = all(abs(d - buffer_m) < 0.05 for d in distances.values())
    if distances:
        gaps = [d - buffer_m for d in distances.values()]
        print(f"  true distances of the differing pairs minus the buffer: {min(gaps):+.6f} m to "
              f"{max(gaps):+.6f} m")  # fmt: skip
    for name, keys in (("only in the scan", only_ours), ("only in geopandas", only_theirs)):
        for a, b, clash in zip(*split(keys[:SHOWN]), strict=True):
            planar = shapely.distance(theirs.frame.geometry[a], theirs.frame.geometry[b])
            true = distances.get((int(a), int(b)), float("nan"))
            print(f"    {name:<18} {a:>8} {b:>8} {'clash' if clash else 'dig_once':<8} true "
                  f"{true:12.6f} m  planar ({theirs.crs}) {planar:12.6f} m")  # fmt: skip
    return ties


# --- the check of one work, and the re-check of a write -------------------------------------


@dataclass(frozen=True)
class Work:
    id: int
    code: str
    category: str
    agency: str
    start: Any
    end: Any
    ewkb: str


SAMPLE = """
    SELECT w.id, p.code, w.category, w.agency_code, w.s, w.e, encode(ST_AsEWKB(w.geom), 'hex')
    FROM ({works}) w JOIN projects p ON p.id = w.id WHERE w.id = ANY(%(ids)s)"""


def sample_works(engine: Engine, limit: int, n: int, seed: int) -> list[Work]:
    """``n`` random works (a fixed seed), as the check needs them."""
    with engine.connect() as conn:
        everyone = f"SELECT id FROM ({works_sql(limit)}) w"  # noqa: S608 - this module's SQL
        ids = conn.exec_driver_sql(everyone).scalars().all()
        chosen = random.Random(seed).sample(list(ids), min(n, len(ids)))  # noqa: S311 (sampling)
        sql = SAMPLE.format(works=works_sql(limit))
        rows = conn.exec_driver_sql(sql, {"ids": chosen}).all()
    by_id = {int(r[0]): Work(*r) for r in rows}
    return [by_id[i] for i in chosen if i in by_id]


def connect(url: str) -> Any:
    return psycopg2.connect(libpq_dsn(url), options=API_OPTIONS)


def time_checks(url: str, works: Sequence[Work], warmup: int) -> list[float]:
    """Each work's ``find.unsaved`` by the stored rules, as the editor's check asks it: ms."""
    connection = connect(url)
    connection.autocommit = True
    cursor = connection.cursor()
    timings = []
    try:
        for i, w in enumerate([*works[:warmup], *works]):
            query = find.unsaved(STORED, w.ewkb, w.category, w.start, w.end, agency=w.agency,
                                 code=w.code)  # fmt: skip
            began = time.perf_counter()
            cursor.execute(query.sql, query.params)
            cursor.fetchall()
            if i >= warmup:
                timings.append((time.perf_counter() - began) * 1000)
    finally:
        connection.close()
    return timings


WRITE = "UPDATE projects SET planned_end = planned_end + 1, updated_at = now() WHERE id = %(id)s"


@dataclass
class Writes:
    alone: list[float] = field(default_factory=list)  # ms: the UPDATE
    with_recheck: list[float] = field(default_factory=list)  # ms: the UPDATE and the re-check
    added: list[float] = field(default_factory=list)  # ms: the paired difference


def time_writes(url: str, works: Sequence[Work], warmup: int) -> Writes:
    """Each work's write, alone and with its re-check, each in a transaction rolled back."""
    connection = connect(url)
    cursor = connection.cursor()
    out = Writes()

    def one(work: Work, recheck: bool) -> float:
        began = time.perf_counter()
        cursor.execute(WRITE, {"id": work.id})
        if recheck:
            query = store.recheck([work.id])
            cursor.execute(query.sql, query.params)
        seconds = time.perf_counter() - began
        connection.rollback()
        return seconds * 1000

    try:
        for i, w in enumerate([*works[:warmup], *works]):
            first = i % 2 == 0  # alternate which goes first, so drift weighs on both
            alone, both = (one(w, False), one(w, True)) if first else (0.0, one(w, True))
            if not first:
                alone = one(w, False)
            if i >= warmup:
                out.alone.append(alone)
                out.with_recheck.append(both)
                out.added.append(both - alone)
    finally:
        connection.close()
    return out


# --- reporting ------------------------------------------------------------------------------


def spread(values: Sequence[float]) -> str:
    return (f"p50 {percentile(values, 50):7.1f} ms  p95 {percentile(values, 95):7.1f} ms  "
            f"p99 {percentile(values, 99):7.1f} ms  max {max(values):7.1f} ms")  # fmt: skip


def print_config(engine: Engine, url: str, rules: Rules, limit: int) -> int:
    with engine.connect() as conn:
        projects = conn.exec_driver_sql("SELECT count(*) FROM projects").scalar_one()
        counted = f"SELECT count(*) FROM ({works_sql(limit)}) w"  # noqa: S608 - this module's SQL
        works = conn.exec_driver_sql(counted).scalar_one()
        stored = conn.exec_driver_sql("SELECT count(*) FROM conflicts").scalar_one()
        postgis = conn.exec_driver_sql("SELECT postgis_lib_version()").scalar_one()
    print("Configuration")
    print(f"  database      {safe_url(url)} ({projects:,} projects, {works:,} works"
          f"{f' with ids up to {limit:,}' if limit > 0 else ''})")  # fmt: skip
    print(f"  rules         buffer {rules.buffer_m:g} m, gap {rules.gap_days} days, moratorium "
          f"{rules.moratorium_months} months; excavating {','.join(rules.excavating)}; "
          f"protected {','.join(rules.protected)}")  # fmt: skip
    print(f"  conflicts     {stored:,} stored before the scan")
    print(f"  machine       {os.cpu_count()} CPUs, Python {platform.python_version()}, PostGIS "
          f"{postgis}, geopandas {gpd.__version__}, shapely {shapely.__version__}")  # fmt: skip
    print(f"  busy before   {background_busy():.0%} of the machine's CPU used by other work\n")
    return int(works)


def print_scan(result: ScanResult, limit: int) -> None:
    how = "store.scan, committed" if limit <= 0 else "scan.run on the part, rolled back"
    m = result.merged
    print(f"Full scan ({how}): {result.seconds:.1f} s", flush=True)
    for name, seconds in result.phases:
        print(f"  {name:<14} {seconds:8.1f} s")
    kinds = ", ".join(f"{k} {n:,}" for k, n in result.kinds.items())
    print(f"  found         {m.found:,} ({kinds}); {m.kept:,} new or changed, {m.gone:,} open "
          f"ones gone, {m.stale:,} worked on no longer hold\n")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url or default_database_url()
    rules = Rules.of(ConflictSettings())
    began = time.monotonic()
    engine = engine_for(url)
    try:
        if args.limit_ids > 0:  # the part is scanned by the rules stored
            with engine.connect() as conn:
                rules = scan.stored_rules(conn)
        works = print_config(engine, url, rules, args.limit_ids)
        if works == 0:
            print("The database holds no works; load them with `allimi demo`.")
            return 2
        print("Scanning", flush=True)
        result = run_scan(engine, rules, args.limit_ids)
        print_scan(result, args.limit_ids)
        checks: list[tuple[str, bool]] = [
            (f"full scan under {TARGET_SCAN_S:.0f} s ({result.seconds:.1f} s)",
             result.seconds < TARGET_SCAN_S),
        ]  # fmt: skip
        ratios = [(f"scan / {TARGET_SCAN_S:.0f} s target", result.seconds / TARGET_SCAN_S)]
        finding = sum(s for name, s in result.phases if name != "merged")
        if not args.no_baseline:
            print("geopandas baseline", flush=True)
            base = baseline(engine, result.rules, args.limit_ids)
            print(f"  read          {base.read_s:8.1f} s  ({base.works:,} works, read_postgis)")
            print(f"  join          {base.join_s:8.1f} s  (to {base.crs}, buffer "
                  f"{result.rules.buffer_m:g} m, sjoin intersects, periods): {len(base.keys):,} "
                  f"pairs")  # fmt: skip
            ties = compare(engine, result.keys, base, result.rules.buffer_m)
            whole = base.read_s + base.join_s
            ratios += [
                ("scan / geopandas read + join", result.seconds / whole),
                ("scan / geopandas join", result.seconds / base.join_s),
                ("scan's finding / geopandas join", finding / base.join_s),
            ]
            checks += [
                (f"scan faster than geopandas' read and join ({result.seconds:.1f} s vs "
                 f"{whole:.1f} s)", result.seconds < whole),
                ("the pair sets differ only at the buffer's boundary (within 5 cm)", ties),
            ]  # fmt: skip
        sample = sample_works(engine, args.limit_ids, args.checks + args.writes, args.seed)
        print(f"\nThe check of one work (find.unsaved, {args.checks} random works, "
              f"{API_OPTIONS})", flush=True)  # fmt: skip
        timings = time_checks(url, sample[: args.checks], args.warmup)
        print(f"  check         {spread(timings)}")
        p95 = percentile(timings, 95)
        ratios.append((f"check p95 / {TARGET_CHECK_P95_MS:.0f} ms", p95 / TARGET_CHECK_P95_MS))
        checks.append((f"check p95 under {TARGET_CHECK_P95_MS:.0f} ms ({p95:.1f} ms)",
                       p95 < TARGET_CHECK_P95_MS))  # fmt: skip
        print(f"\nA write's re-check (store.recheck, {args.writes} random works, rolled back)",
              flush=True)  # fmt: skip
        writes = time_writes(url, sample[args.checks :], args.warmup)
        print(f"  UPDATE alone        {spread(writes.alone)}")
        print(f"  UPDATE + re-check   {spread(writes.with_recheck)}")
        print(f"  added by re-check   {spread(writes.added)}")
        print("\nRatios to the references")
        for label, ratio in ratios:
            print(f"  {label:<34} {ratio:7.2f}x")
        return finish(checks, began)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
