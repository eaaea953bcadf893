"""Benchmark fairness under load: does the map keep its throughput beside expensive clients?

What it measures, on the 1,000,000-project database:

* the click query ``GET /api/projects/at?lon=..&lat=..`` (as in ``bench_api.py``: points from
  project geometries, jittered, every request distinct) from 4 map clients alone;
* the same beside 4 heavy clients sending expensive requests, each one new so that the body
  cache cannot answer it: deep pages (``offset=9000..&limit=1000``), big pages
  (``limit=1000``), the whole city as ``bbox``, and ``/api/layers/projects/features`` without
  ``bbox`` under varying filters.

Every client is a thread with one keep-alive ``http.client`` connection from its own loopback
source address (127.0.1.N for map clients, 127.0.2.N for heavy ones), so the API's per-client
limits apply to each as to a real client. All clients are closed-loop: each sends its next
request when the last is answered. A heavy client answered 429 waits the ``Retry-After`` it was
given, as a well-behaved scraper does. The API is served as by default (body cache on), except
that the request rate limit is raised far above what a closed-loop map client sends: the
question is whether heavy work starves the map, not whether the map is rate-limited.

Target: the map's throughput beside the heavy clients is at least 80 % of its throughput alone,
and no map request is refused (429) or fails. The exit status is 0 when the target holds.

Run from the repository root::

    .venv/bin/python bench/bench_fair.py                  # database allimi_bench
    .venv/bin/python bench/bench_fair.py --database-url postgresql://... --duration 10
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import random
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from bench_api import (
    REQUEST_TIMEOUT_S,
    api_server,
    background_busy,
    click_jobs,
    default_database_url,
    percentile,
    safe_url,
    sample_points,
    uvicorn_version,
)
from sqlalchemy import Engine, text

from geo.store.database import engine_for
from geo.vocab import CATEGORIES, STATUSES
from layers.render import EXTENT_OF_CITY

TARGET_RATIO = 0.80
MAP_NET, HEAVY_NET = "127.0.1", "127.0.2"
MAX_RETRY_WAIT_S = 5.0  # a heavy client waits at most this long, so that runs stay bounded
# Far above a closed-loop map client's rate (thousands a second would still pass).
UNLIMITED_RATE = {"ALLIMI_RATE_PER_S": "1000000", "ALLIMI_RATE_BURST": "1000000"}


@dataclass
class Tally:
    """What one group of clients got during a measurement."""

    latencies: list[float] = field(default_factory=list)  # seconds, answered 200/204
    refused: int = 0  # 429
    failed: int = 0  # anything else
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds > 0 else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000.0

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.refused += other.refused
        self.failed += other.failed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="database (default: `allimi db url`, allimi_bench)")
    parser.add_argument("--map-clients", type=int, default=4, help="closed-loop map clients")
    parser.add_argument("--heavy-clients", type=int, default=4, help="expensive clients")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument(
        "--warmup",
        type=float,
        default=20.0,
        help="seconds of load before each measurement (the heavy clients spend their burst)",
    )
    parser.add_argument("--points", type=int, default=2000, help="sample points (upper bound)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    return parser.parse_args(argv)


# --- the heavy requests -------------------------------------------------------------------


def city_bbox(engine: Engine) -> str:
    with engine.connect() as conn:
        row = conn.execute(text(EXTENT_OF_CITY.sql)).one()
    return ",".join(f"{float(v):.5f}" for v in row)


def heavy_paths(rng: random.Random, bbox: str, n: int) -> list[str]:
    """``n`` expensive requests, no two alike (the body cache misses every one)."""
    categories, statuses = list(CATEGORIES), list(STATUSES)
    kinds: list[Callable[[int], str]] = [
        lambda i: f"/api/projects?offset={9000 + i}&limit=1000",
        lambda i: f"/api/projects?offset={i}&limit=1000&sort=-budget",
        lambda i: f"/api/projects?bbox={bbox}&offset={i}&limit=1000&sort=-updated",
        lambda i: (
            f"/api/layers/projects/features?category={rng.choice(categories)}"
            f"&status={rng.choice(statuses)}&min_budget={1000 * i}"
        ),
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


# --- clients ------------------------------------------------------------------------------


class Connection:
    """One keep-alive connection to the API from ``source`` (a loopback address)."""

    def __init__(self, base_url: str, source: str) -> None:
        address = urllib.parse.urlsplit(base_url)
        self._http = http.client.HTTPConnection(
            address.hostname or "127.0.0.1",
            address.port,
            timeout=REQUEST_TIMEOUT_S,
            source_address=(source, 0),
        )

    def get(self, path: str) -> tuple[int, str | None]:
        """Status and Retry-After of ``GET path``."""
        self._http.request("GET", path)
        response = self._http.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")

    def close(self) -> None:
        self._http.close()


@dataclass
class Clients:
    """Closed-loop client threads, each from its own address, until ``stop`` is set; they
    count what they get only while ``counting`` is set."""

    base_url: str
    stop: threading.Event = field(default_factory=threading.Event)
    counting: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    tallies: list[Tally] = field(default_factory=list)

    def start(self, source: str, paths: Sequence[str], obey_retry_after: bool) -> None:
        tally = Tally()
        self.tallies.append(tally)
        thread = threading.Thread(
            target=self._loop, args=(source, paths, obey_retry_after, tally), daemon=True
        )
        self.threads.append(thread)
        thread.start()

    def _loop(self, source: str, paths: Sequence[str], obey: bool, tally: Tally) -> None:
        connection = Connection(self.base_url, source)
        try:
            for path in itertools.cycle(paths):
                if self.stop.is_set():
                    return
                began = time.perf_counter()
                try:
                    status, retry_after = connection.get(path)
                except (OSError, http.client.HTTPException):
                    # uvicorn closes a keep-alive connection idle for 5 s (a client that
                    # waited its Retry-After): send again once on a new one
                    connection.close()
                    connection = Connection(self.base_url, source)
                    try:
                        status, retry_after = connection.get(path)
                    except (OSError, http.client.HTTPException):
                        status, retry_after = 0, None
                elapsed = time.perf_counter() - began
                if self.counting.is_set():
                    if status in (200, 204):
                        tally.latencies.append(elapsed)
                    elif status == 429:
                        tally.refused += 1
                    else:
                        tally.failed += 1
                if status == 429 and obey and retry_after:
                    self.stop.wait(min(float(retry_after), MAX_RETRY_WAIT_S))
        finally:
            connection.close()

    def total(self, group: slice) -> Tally:
        whole = Tally()
        for tally in self.tallies[group]:
            whole.add(tally)
        return whole

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)


def split(jobs: Sequence[str], parts: int) -> Iterator[Sequence[str]]:
    for i in range(parts):
        yield jobs[i::parts]


@dataclass(frozen=True)
class Phase:
    name: str
    map: Tally
    heavy: Tally | None


def run_phase(
    args: argparse.Namespace,
    url: str,
    clicks: Sequence[str],
    heavy: Sequence[str] | None,
) -> Phase:
    """Map clients (and heavy ones when given) on a fresh server: warm up, then measure."""
    with api_server(url, 1, UNLIMITED_RATE) as server:
        clients = Clients(server.base_url)
        for n, paths in enumerate(split(clicks, args.map_clients), start=1):
            clients.start(f"{MAP_NET}.{n}", paths, obey_retry_after=False)
        if heavy is not None:
            for n, paths in enumerate(split(heavy, args.heavy_clients), start=1):
                clients.start(f"{HEAVY_NET}.{n}", paths, obey_retry_after=True)
        try:
            time.sleep(args.warmup)
            clients.counting.set()
            began = time.perf_counter()
            time.sleep(args.duration)
            clients.counting.clear()
            seconds = time.perf_counter() - began
        finally:
            clients.finish()
    map_tally = clients.total(slice(0, args.map_clients))
    map_tally.seconds = seconds
    heavy_tally = None
    if heavy is not None:
        heavy_tally = clients.total(slice(args.map_clients, None))
        heavy_tally.seconds = seconds
    return Phase("beside heavy" if heavy is not None else "map alone", map_tally, heavy_tally)


# --- reporting ----------------------------------------------------------------------------


def print_config(args: argparse.Namespace, url: str, projects: object, bbox: str) -> None:
    print("Configuration")
    print(f"  database      {safe_url(url)} ({projects} projects)")
    print(
        f"  machine       {os.cpu_count()} CPUs, uvicorn {uvicorn_version()}; clients, server "
        "and PostGIS on one host (shared: figures are noisy)"
    )
    print(f"  busy before   {background_busy():.0%} of the machine's CPU used by other work")
    print(
        "  API server    uvicorn bench_api:portal --factory, 1 worker, one fresh server per "
        "phase; settings as by default (body cache on), but ALLIMI_RATE_PER_S and "
        "ALLIMI_RATE_BURST raised to 1000000 (closed-loop map clients would pass 30/s)"
    )
    print(
        f"  map clients   {args.map_clients} closed-loop from {MAP_NET}.1.., click query at "
        "jittered project points"
    )
    print(
        f"  heavy clients {args.heavy_clients} closed-loop from {HEAVY_NET}.1.., honouring "
        f"Retry-After (at most {MAX_RETRY_WAIT_S:g} s): offset=9000..&limit=1000, "
        f"limit=1000 pages, bbox={bbox}, features without bbox under varying filters"
    )
    print(f"  per phase     {args.warmup:g} s warm-up, then {args.duration:g} s measured")
    print()


def print_phases(phases: Sequence[Phase]) -> None:
    header = (
        f"{'phase':<13} {'group':<6} | {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | "
        f"{'served':>7} {'429':>6} {'failed':>6}"
    )
    print(header)
    print("-" * len(header))
    for phase in phases:
        for group, tally in (("map", phase.map), ("heavy", phase.heavy)):
            if tally is None:
                continue
            print(
                f"{phase.name:<13} {group:<6} | {tally.rps:8.1f} {tally.ms(50):8.2f} "
                f"{tally.ms(99):8.2f} | {len(tally.latencies):>7} {tally.refused:>6} "
                f"{tally.failed:>6}"
            )
    print()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url or default_database_url()
    rng = random.Random(args.seed)  # noqa: S311 (sampling, not secrets)
    engine = engine_for(url)
    try:
        points = sample_points(engine, args.points, args.seed)
        if not points:
            print("The database holds no projects; load them with `allimi demo`.")
            return 2
        bbox = city_bbox(engine)
        with engine.connect() as conn:
            projects = conn.execute(text("SELECT count(*) FROM projects")).scalar_one()
    finally:
        engine.dispose()
    clicks = [job.path for job in click_jobs(rng, points, 50_000)]
    heavy = heavy_paths(rng, bbox, 20_000)
    print_config(args, url, projects, bbox)
    alone = run_phase(args, url, clicks, None)
    print(f"  map alone:    {alone.map.rps:.1f} req/s", flush=True)
    beside = run_phase(args, url, clicks[::-1], heavy)
    print(f"  beside heavy: {beside.map.rps:.1f} req/s", flush=True)
    print()
    print_phases([alone, beside])
    ratio = beside.map.rps / alone.map.rps if alone.map.rps else 0.0
    refused = alone.map.refused + beside.map.refused
    failed = alone.map.failed + beside.map.failed
    ok = ratio >= TARGET_RATIO and not refused and not failed
    print("Target")
    print(
        f"  {'PASS' if ok else 'FAIL'}  map throughput beside heavy clients {ratio:.0%} of alone "
        f">= {TARGET_RATIO:.0%}; map requests refused {refused}, failed {failed} (none allowed)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
