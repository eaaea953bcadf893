"""Benchmark of the open-standards side: OGC API Features items next to tipg, and the OC4IDS export.

What it measures, on the 1,000,000-project database, in one run:

* ``GET /ogc/collections/projects/items?bbox=<500 m square>&limit=100`` (points on project
  geometries, jittered, every request distinct, as ``bench_api.py``'s bbox pages) next to tipg
  1.6.1 serving the same ``projects`` table in the same run
  (``/collections/public.projects/items?bbox=...&limit=100``), with 1 and 16 clients, each
  server with one uvicorn worker and no response cache;
* deep pages: the portal's ``next`` links taken ``--depth`` features into the whole collection
  (keyset cursors) against its first pages, and tipg's ``offset=--depth`` against its own first
  pages, 1 client;
* the OC4IDS export ``GET /api/export/oc4ids.json`` of every published project: time to the
  last byte, size, and the API process's peak resident memory (``VmHWM``) before and after.

tipg runs from a virtual environment of its own (``.allimi/bench/tipg``, made on first use
with ``pip install tipg==1.6.1 uvicorn==<ours>``), reading the table as the database owner, so
that it sees what the portal publishes (every sample project is published).

Before measuring, the projects table and its indexes are read into PostgreSQL's page cache
(``pg_prewarm``, an extension the script creates in the database), and each workload runs on
one server right after the other: neither meets a colder cache.

Targets: items throughput at least 2.5x tipg's with 1 and with 16 clients; a deep page as fast
as the first (its p50 latency within 1.25x the first page's). The exit status is 0 when all hold.

Run from the repository root::

    .venv/bin/python bench/bench_open_data.py            # database allimi_bench
    .venv/bin/python bench/bench_open_data.py --duration 10 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
from bench_api import (
    BENCH_DB,
    BOX_HALF_M,
    CONCURRENCY,
    ROOT,
    UNLIMITED,
    Call,
    Job,
    LoadResult,
    api_server,
    default_database_url,
    free_port,
    http_session,
    jittered,
    measurement_arguments,
    offset,
    print_targets,
    run_load,
    safe_url,
    sample_points,
    stop_server,
    uvicorn_version,
    wait_until,
)
from sqlalchemy import Engine, text

from geo.store.database import engine_for

TIPG = "1.6.1"
TIPG_VENV = ROOT / ".allimi" / "bench" / "tipg"
TIPG_COLLECTION = "public.projects"
TARGET_ITEMS_RATIO = 2.5
TARGET_DEEP_RATIO = 1.25  # a deep page's p50 within this factor of the first page's
PAGE = 100
STEP = 1000  # the page size used to walk to a deep position (the largest)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help=f"database to benchmark (default: `allimi db url` with ALLIMI_DB_NAME={BENCH_DB})",
    )
    parser.add_argument("--depth", type=int, default=500_000, help="features before a deep page")
    parser.add_argument("--deep-pages", type=int, default=20, help="distinct deep pages")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--skip-export", action="store_true", help="leave the OC4IDS export out")
    measurement_arguments(parser)
    return parser.parse_args(argv)


# --- tipg ----------------------------------------------------------------------------------


def tipg_python() -> Path:
    """tipg's interpreter, its environment made (and pinned) on first use."""
    python = TIPG_VENV / "bin" / "python"
    wanted = f"tipg=={TIPG}"
    if python.exists():
        done = subprocess.run(
            [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
        )
        if wanted in done.stdout.splitlines():
            return python
    print(f"installing {wanted} into {TIPG_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", wanted, f"uvicorn=={uvicorn_version()}"],
        check=True,
    )
    return python


@contextmanager
def tipg_server(database_url: str) -> Iterator[tuple[str, int]]:
    """tipg on a free loopback port, one worker, serving ``public.projects``."""
    port = free_port()
    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://")
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": f'["{TIPG_COLLECTION}"]',
        "TIPG_DB_MAX_CONN_SIZE": "16",
    }
    command = [
        str(tipg_python()), "-m", "uvicorn", "tipg.main:app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{base}/collections/{TIPG_COLLECTION}", process)
        yield base, process.pid
    finally:
        stop_server(process)


# --- the workload ---------------------------------------------------------------------------


def prewarm(engine: Engine, tables: Sequence[str] = ("public.projects",)) -> str:
    """The ``tables`` and their indexes read into PostgreSQL's page cache (``pg_prewarm``),
    so that neither server meets pages the other has just read; what was read, for the log."""
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_prewarm(c.oid) * current_setting('block_size')::bigint "
                "FROM pg_class c WHERE c.oid = ANY(CAST(:t AS regclass[])) OR c.oid IN "
                "(SELECT indexrelid FROM pg_index WHERE indrelid = ANY(CAST(:t AS regclass[])))"
            ),
            {"t": list(tables)},
        ).all()
        cache = conn.execute(text("SHOW shared_buffers")).scalar()
    read = sum(size for _, size in rows)
    indexes = len(rows) - len(tables)
    return f"{read / 2**20:,.0f} MiB of {', '.join(tables)} and {indexes} indexes, cache {cache}"


def boxes(points: Sequence[tuple[float, float]], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    out = []
    for lon, lat in jittered(rng, points, n):
        minx, miny = offset(lon, lat, -BOX_HALF_M, -BOX_HALF_M)
        maxx, maxy = offset(lon, lat, BOX_HALF_M, BOX_HALF_M)
        out.append(f"{minx},{miny},{maxx},{maxy}")
    return out


def item_jobs(bboxes: Sequence[str]) -> tuple[list[Job], list[Job]]:
    ours = [Job(f"/ogc/collections/projects/items?bbox={b}&limit={PAGE}", None) for b in bboxes]
    theirs = [
        Job(f"/collections/{TIPG_COLLECTION}/items?bbox={b}&limit={PAGE}", None) for b in bboxes
    ]
    return ours, theirs


def with_limit(href: str, limit: int) -> str:
    """The path and query of ``href`` with ``limit`` set."""
    parts = urllib.parse.urlsplit(href)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["limit"] = str(limit)
    return f"{parts.path}?{urllib.parse.urlencode(query)}"


def next_href(page: dict[str, object]) -> str | None:
    links = page.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "next":
            return str(link["href"])
    return None


def deep_jobs(base: str, depth: int, pages: int) -> list[Job]:
    """``pages`` distinct pages of the portal's collection starting about ``depth`` features
    in, reached by following ``next`` links as a client does."""
    path: str | None = f"/ogc/collections/projects/items?limit={STEP}"
    walked = 0
    jobs: list[Job] = []
    with httpx.Client(base_url=base, timeout=300) as client:
        while path is not None and len(jobs) < pages:
            page = client.get(path).raise_for_status().json()
            walked += len(page["features"])
            href = next_href(page)
            path = with_limit(href, STEP) if href else None
            if walked >= depth and href:
                jobs.append(Job(with_limit(href, PAGE), None))
    return jobs


def pages(collection: str, offsets: Sequence[int | None]) -> list[Job]:
    """Pages of a whole collection: at ``offset`` (tipg's paging), or the first (None)."""
    return [
        Job(f"{collection}?limit={PAGE}" + (f"&offset={at}" if at is not None else ""), None)
        for at in offsets
    ]


# --- measuring ------------------------------------------------------------------------------


def load(base: str, jobs: Sequence[Job], clients: int, args: argparse.Namespace) -> LoadResult:
    def session() -> AbstractContextManager[Call]:
        return http_session(base)

    run_load(session, jobs[::-1], clients, args.warmup, args.max_requests)
    result = run_load(session, jobs, clients, args.duration, args.max_requests)
    if result.errors:
        print(f"    ! {result.errors} of {result.count} requests failed on {base}", flush=True)
    return result


def line(name: str, ours: LoadResult, theirs: LoadResult) -> float:
    ratio = ours.rps / theirs.rps if theirs.rps else 0.0
    print(
        f"  {name:<22} Allimi {ours.rps:7.1f} req/s p50 {ours.percentile_ms(50):7.1f} ms  "
        f"tipg {theirs.rps:7.1f} req/s p50 {theirs.percentile_ms(50):7.1f} ms  "
        f"ratio {ratio:.2f}x  sizes {mean_kb(ours):.1f} / {mean_kb(theirs):.1f} KB",
        flush=True,
    )
    return ratio


def mean_kb(result: LoadResult) -> float:
    return sum(result.sizes) / len(result.sizes) / 1024 if result.sizes else 0.0


def peak_rss_kb(pid: int) -> tuple[int, int]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in KiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def export(base: str, pid: int) -> tuple[float, int, tuple[int, int], tuple[int, int]]:
    """Seconds to the last byte, bytes, and the server's (RSS, peak) before and after."""
    before = peak_rss_kb(pid)
    began = time.perf_counter()
    size = 0
    with httpx.stream("GET", f"{base}/api/export/oc4ids.json", timeout=3600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    return time.perf_counter() - began, size, before, peak_rss_kb(pid)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url or default_database_url()
    engine = engine_for(url)
    with engine.connect() as conn:
        published = conn.execute(text("SELECT count(*) FROM projects WHERE published")).scalar()
    print(f"database {safe_url(url)}: {published:,} published projects", flush=True)
    points = sample_points(engine, args.points, args.seed)
    bboxes = boxes(points, args.max_requests, args.seed)
    ours, theirs = item_jobs(bboxes)
    print(f"prewarmed {prewarm(engine)}", flush=True)
    checks: list[tuple[str, bool]] = []

    whole = f"/collections/{TIPG_COLLECTION}/items"
    deep_offsets = [args.depth + i * PAGE for i in range(args.deep_pages)]
    # Both servers up at once, each measured right after the other on the same workload, so
    # that neither meets a colder cache than the other.
    with tipg_server(url) as (tipg, _), api_server(url, 1, UNLIMITED) as server:
        base = server.base_url
        print("\nOGC API Features items (bbox 500 m, limit 100):", flush=True)
        for n in CONCURRENCY:
            mine, theirs_n = load(base, ours, n, args), load(tipg, theirs, n, args)
            ratio = line(f"bbox page x{n}", mine, theirs_n)
            checks.append((f"items x{n} >= {TARGET_ITEMS_RATIO}x tipg ({ratio:.2f}x)",
                           ratio >= TARGET_ITEMS_RATIO))  # fmt: skip
        print(f"\nPages of the whole collection ({args.depth:,} features in for deep ones):")
        first = load(base, pages("/ogc/collections/projects/items", [None]), 1, args)
        tipg_first = load(tipg, pages(whole, [None]), 1, args)
        line("first page x1", first, tipg_first)
        deep = load(base, deep_jobs(base, args.depth, args.deep_pages), 1, args)
        tipg_deep = load(tipg, pages(whole, deep_offsets), 1, args)
        line("deep page x1", deep, tipg_deep)
        slower = deep.percentile_ms(50) / first.percentile_ms(50)
        print(f"  Allimi deep/first p50: {slower:.2f}; tipg deep/first p50: "
              f"{tipg_deep.percentile_ms(50) / tipg_first.percentile_ms(50):.2f}")  # fmt: skip
        checks.append((f"deep page p50 within {TARGET_DEEP_RATIO}x the first ({slower:.2f}x)",
                       slower <= TARGET_DEEP_RATIO))  # fmt: skip
        if not args.skip_export:
            seconds, size, before, after = export(base, server.pid)
            print(
                f"\nOC4IDS export of {published:,} projects: {seconds:.1f} s, {size / 2**20:,.1f} "
                f"MiB ({size / seconds / 2**20:.1f} MiB/s); API RSS {before[0] / 1024:.0f} MiB "
                f"before, peak {after[1] / 1024:.0f} MiB (peak before {before[1] / 1024:.0f} MiB)",
                flush=True,
            )
    print()
    print_targets(checks)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
