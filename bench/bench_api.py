"""Benchmark the public API against the SQL it runs, on the 1,000,000-project database.

What it measures, in one run:

* the click query ``GET /api/projects/at?lon=..&lat=..`` (default radius) at random points in
  Seoul, taken from project geometries and jittered a few metres;
* a 500 m x 500 m box ``GET /api/projects?bbox=..&limit=100`` around the same points;
* vector tiles ``GET /api/layers/projects/tiles/{z}/{x}/{y}.mvt`` at z12, z14 and z16 covering
  the same points, and the size of every distinct such tile (mean, p99, max).

Each is measured with 1 and with 16 concurrent clients (threads, one keep-alive
``http.client`` connection each) and set beside a reference: the statement the endpoint runs
(``geo.click.projects_at``, ``geo.disclosure.search``, ``layers.render.tile``), its text and
parameters issued straight to PostGIS on a psycopg2 cursor in autocommit mode, without HTTP,
with the same number of threads each holding one connection. The reference leaves out what the
endpoint adds around that SQL (the connection pool, the ``data_version`` read for the ETag at
most once a second, FastAPI and uvicorn).
Requests carry no ``If-None-Match``, so the API always renders the body.

The script starts the API itself (``uvicorn bench_api:portal --factory``) on a free loopback
port against the given database (one server for the 1-client runs, a fresh one for the
16-client runs), waits for ``/api/health``, measures, and stops the server. It prints the
configuration, a latency/throughput table, the CPU each request cost (this process, the API
server, the rest of the machine), the tile sizes, and the targets as PASS/FAIL; the exit status
is 0 only when every target passes. Every request loop is bounded in count and in time; the
default run takes about 7 minutes.

Run from the repository root::

    .venv/bin/python bench/bench_api.py                  # database allimi_bench
    .venv/bin/python bench/bench_api.py --database-url postgresql://... --duration 10
"""

from __future__ import annotations

import argparse
import functools
import http.client
import itertools
import math
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg2
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.database import libpq_dsn
from geo.click import DEFAULT_RADIUS_M, METRES_PER_DEGREE, projects_at
from geo.disclosure import search
from geo.filters import ProjectFilter
from geo.settings import Settings
from geo.sql import Query
from geo.store.database import engine_for, read_url
from layers import LAYERS
from layers.render import tile

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "allimi_bench"
ZOOMS = (12, 14, 16)
CONCURRENCY = (1, 16)
BOX_HALF_M = 250.0  # half the side of the 500 m x 500 m box
JITTER_M = 5.0
MAX_TILE_BYTES = 500 * 1024
TARGET_RATIO = 0.70
# The per-client limits off: every client of this benchmark has the same address.
UNLIMITED = {
    "ALLIMI_RATE_PER_S": "1000000",
    "ALLIMI_RATE_BURST": "1000000",
    "ALLIMI_CLIENT_DB_SHARE": "1000000",
    "ALLIMI_CLIENT_DB_BURST": "1000000",
    "ALLIMI_CLIENT_STATEMENTS": "1000",
}
TARGET_CLICK_P99_MS = 10.0
REQUEST_TIMEOUT_S = 60.0
SERVER_START_TIMEOUT_S = 90.0
FLOOR_SECONDS = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# A session answers one job and returns the size of what it got, or None on failure.
Call = Callable[["Job"], int | None]
Session = Callable[[], AbstractContextManager[Call]]


@dataclass(frozen=True)
class Job:
    """One request: its API path and the statement the endpoint runs for it."""

    path: str
    query: Query | None


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used by this process (the clients), the API server, and the whole machine."""

    client: float = 0.0
    server: float = 0.0
    machine: float = 0.0

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.client - other.client, self.server - other.server, self.machine - other.machine
        )


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds
    sizes: list[int] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: Cpu = field(default_factory=Cpu)  # used during the run

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return (self.count - self.errors) / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000.0

    def cpu_ms(self) -> tuple[float, float, float]:
        """CPU ms per request: clients, API server, everything else (PostGIS above all)."""
        n = max(self.count, 1)
        rest = self.cpu.machine - self.cpu.client - self.cpu.server
        return (1000 * self.cpu.client / n, 1000 * self.cpu.server / n, 1000 * rest / n)


@dataclass(frozen=True)
class Row:
    name: str
    clients: int
    api: LoadResult
    ref: LoadResult
    new_sessions: int | None = None  # PostgreSQL sessions opened during the API run

    @property
    def ratio(self) -> float:
        return self.api.rps / self.ref.rps if self.ref.rps > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(q / 100.0 * len(ordered)), 1)
    return ordered[rank - 1]


# --- configuration ------------------------------------------------------------------------


def measurement_arguments(parser: argparse.ArgumentParser) -> None:
    """The bounds of each measurement and the sample, as every benchmark here takes them."""
    parser.add_argument(
        "--duration", type=float, default=15.0, help="seconds per measurement (upper bound)"
    )
    parser.add_argument(
        "--max-requests", type=int, default=20_000, help="requests per measurement (upper bound)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per query")
    parser.add_argument("--points", type=int, default=2000, help="sample points (upper bound)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help=f"database to benchmark (default: `allimi db url` with ALLIMI_DB_NAME={BENCH_DB})",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes for the 1-client runs"
    )
    parser.add_argument(
        "--workers-concurrent",
        type=int,
        default=1,
        help="uvicorn worker processes for the 16-client runs (see bench/README.md before "
        "raising it: uvicorn's --workers mode leaves Nagle's algorithm on)",
    )
    measurement_arguments(parser)
    parser.add_argument(
        "--survey-seconds", type=float, default=30.0, help="time bound of each tile-size survey"
    )
    parser.add_argument(
        "--plan-seconds",
        type=float,
        default=5.0,
        help="seconds per plan mode in the prepared-statement comparison (upper bound)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    return parser.parse_args(argv)


def default_database_url() -> str:
    allimi = Path(sys.executable).parent / "allimi"
    env = {**os.environ, "ALLIMI_DB_NAME": BENCH_DB}
    done = subprocess.run(
        [str(allimi), "db", "url"], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip().splitlines()[-1]


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- the API server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, server: subprocess.Popen[bytes]) -> httpx.Response:
    """The first 200 answer of ``url`` from the starting ``server``."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            response = httpx.get(url, timeout=5.0)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer {url} in {SERVER_START_TIMEOUT_S} s")


def wait_healthy(base_url: str, server: subprocess.Popen[bytes]) -> dict[str, object]:
    return dict(wait_until(f"{base_url}/api/health", server).json())


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # its own process group: the server and workers
        server.wait(timeout=10)


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int
    health: dict[str, object]


def portal() -> FastAPI:
    """The API as each of uvicorn's workers builds it (``--factory``): reading with the login
    that ``allimi run`` would give it for the same settings."""
    settings = Settings()
    return create_app(settings, read_url(settings))


@contextmanager
def api_server(
    database_url: str,
    workers: int,
    settings: Mapping[str, str] | None = None,
    app: str = "bench_api:portal",
) -> Iterator[Server]:
    """Serve the API (the factory ``app`` of a module in bench/) on a free loopback port until
    the block ends; ``settings`` (ALLIMI_... variables) override those below."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--app-dir", str(ROOT / "bench"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    # Without the kept bodies: every request is made from the database, as the reference is.
    env = {**os.environ, "DATABASE_URL": database_url, "ALLIMI_CACHE_MB": "0", **(settings or {})}
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        base_url = f"http://127.0.0.1:{port}"
        yield Server(base_url, process.pid, wait_healthy(base_url, process))
    finally:
        stop_server(process)


# --- CPU accounting (Linux /proc) ---------------------------------------------------------


def _proc_stat(pid: int | str) -> list[str]:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its direct children (uvicorn's worker processes)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _proc_stat(entry.name)
        if len(fields) > 12 and (entry.name == str(root) or fields[1] == str(root)):
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS


def _machine_cpu() -> float:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / CLOCK_TICKS


def pg_sessions(engine: Engine) -> int | None:
    """Sessions ever opened on the database (PostgreSQL 14+), to see the API's pool churn."""
    sql = text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sql).scalar_one())
    except Exception:
        return None


def cpu_now(server_pid: int) -> Cpu:
    own = os.times()
    return Cpu(own.user + own.system, _tree_cpu(server_pid), _machine_cpu())


# --- sessions: one per client thread ------------------------------------------------------


@contextmanager
def http_session(base_url: str) -> Iterator[Call]:
    """A keep-alive HTTP/1.1 connection from the standard library: a lean client, so that the
    load generator, which shares the cores with the server, costs about what psycopg2 does."""
    address = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(
        address.hostname or "127.0.0.1", address.port, timeout=REQUEST_TIMEOUT_S
    )
    try:

        def call(job: Job) -> int | None:
            connection.request("GET", job.path)
            response = connection.getresponse()
            body = response.read()
            return len(body) if response.status in (200, 204) else None

        yield call
    finally:
        connection.close()


def _size(row: tuple[object, ...] | None) -> int:
    """Bytes of text or binary in a result row (the body the endpoint would send)."""
    return sum(len(v) for v in row or () if isinstance(v, str | bytes | memoryview))


@contextmanager
def sql_session(url: str) -> Iterator[Call]:
    connection = psycopg2.connect(
        libpq_dsn(url), options=f"-c statement_timeout={int(REQUEST_TIMEOUT_S * 1000)}"
    )
    connection.autocommit = True
    cursor = connection.cursor()
    try:

        def call(job: Job) -> int | None:
            assert job.query is not None
            cursor.execute(job.query.sql, job.query.params)
            return _size(cursor.fetchone())

        yield call
    finally:
        connection.close()


PARAMETER = re.compile(r"%\((\w+)\)s")
PLAN_MODES = ("literal", "force_custom_plan", "force_generic_plan")


def prepared(query: Query) -> tuple[str, str]:
    """``query`` as a server-side prepared statement: its PREPARE body with $n parameters, and
    the EXECUTE that passes the named parameters to it."""
    names = list(dict.fromkeys(PARAMETER.findall(query.sql)))
    body = PARAMETER.sub(lambda m: f"${names.index(m.group(1)) + 1}", query.sql)
    return body, f"EXECUTE bench_plan({', '.join(f'%({n})s' for n in names)})"


@contextmanager
def plan_session(url: str, mode: str, sample: Query) -> Iterator[Call]:
    """Like ``sql_session``, but with the statement prepared on the server under
    ``plan_cache_mode = mode`` (``literal``: not prepared, values written into the text)."""
    if mode == "literal":
        with sql_session(url) as call:
            yield call
        return
    body, execute = prepared(sample)
    connection = psycopg2.connect(libpq_dsn(url))
    connection.autocommit = True
    cursor = connection.cursor()
    try:
        cursor.execute(f"SET plan_cache_mode = {mode}")
        cursor.execute(f"PREPARE bench_plan AS {body}")

        def call(job: Job) -> int | None:
            assert job.query is not None
            cursor.execute(execute, job.query.params)
            return _size(cursor.fetchone())

        yield call
    finally:
        connection.close()


# --- the load loop ------------------------------------------------------------------------


def run_load(
    open_session: Session,
    jobs: Sequence[Job],
    clients: int,
    duration: float,
    max_requests: int,
    cpu: Callable[[], Cpu] = Cpu,
) -> LoadResult:
    """Run ``jobs`` in order from ``clients`` threads until ``max_requests`` or ``duration``."""
    result = LoadResult()
    counter = itertools.count()
    lock = threading.Lock()
    start = [0.0]
    finish: list[float] = []
    cpu_before = [Cpu()]

    def begin() -> None:
        cpu_before[0] = cpu()
        start[0] = time.perf_counter()

    barrier = threading.Barrier(clients, action=begin, timeout=60)

    def client() -> None:
        with open_session() as call:
            barrier.wait()
            deadline = start[0] + duration
            while (i := next(counter)) < max_requests and time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    size = call(jobs[i % len(jobs)])
                except Exception:
                    size = None
                elapsed = time.perf_counter() - began
                with lock:
                    result.latencies.append(elapsed)
                    if size is None:
                        result.errors += 1
                    else:
                        result.sizes.append(size)
            with lock:
                finish.append(time.perf_counter())

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT_S + 30)
    result.seconds = (max(finish) if finish else time.perf_counter()) - start[0]
    result.cpu = cpu() - cpu_before[0]
    return result


# --- the workload -------------------------------------------------------------------------


def sample_points(engine: Engine, limit: int, seed: int) -> list[tuple[float, float]]:
    """Points on project geometries, from about 0.1 % of the table's pages."""
    sql = text(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM projects TABLESAMPLE SYSTEM (0.1) REPEATABLE (:seed) LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(sql, {"seed": seed % 2**31, "limit": limit})
        return [(float(x), float(y)) for x, y in rows]


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    dlon = east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lon + dlon, 7), round(lat + north_m / METRES_PER_DEGREE, 7)


def jittered(
    rng: random.Random, points: Sequence[tuple[float, float]], n: int
) -> Iterator[tuple[float, float]]:
    for i in range(n):
        lon, lat = points[i % len(points)]
        yield offset(lon, lat, rng.uniform(-JITTER_M, JITTER_M), rng.uniform(-JITTER_M, JITTER_M))


def click_jobs(rng: random.Random, points: Sequence[tuple[float, float]], n: int) -> list[Job]:
    return [
        Job(f"/api/projects/at?lon={lon}&lat={lat}", projects_at(lon, lat, DEFAULT_RADIUS_M))
        for lon, lat in jittered(rng, points, n)
    ]


def bbox_jobs(rng: random.Random, points: Sequence[tuple[float, float]], n: int) -> list[Job]:
    jobs = []
    for lon, lat in jittered(rng, points, n):
        minx, miny = offset(lon, lat, -BOX_HALF_M, -BOX_HALF_M)
        maxx, maxy = offset(lon, lat, BOX_HALF_M, BOX_HALF_M)
        bbox = (minx, miny, maxx, maxy)
        path = f"/api/projects?bbox={minx},{miny},{maxx},{maxy}&limit=100"
        jobs.append(Job(path, search(ProjectFilter(bbox=bbox), limit=100, offset=0)))
    return jobs


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_job(z: int, x: int, y: int) -> Job:
    query = tile(LAYERS["projects"], z, x, y, ProjectFilter())
    return Job(f"/api/layers/projects/tiles/{z}/{x}/{y}.mvt", query)


def tile_jobs(z: int, points: Sequence[tuple[float, float]], n: int) -> list[Job]:
    return [
        tile_job(z, *tile_xy(lon, lat, z))
        for lon, lat in itertools.islice(itertools.cycle(points), n)
    ]


def distinct_tiles(z: int, points: Sequence[tuple[float, float]]) -> list[Job]:
    return [tile_job(z, x, y) for x, y in sorted({tile_xy(lon, lat, z) for lon, lat in points})]


# --- measuring and reporting --------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    url: str
    engine: Engine
    server: Server | None = None
    rows: list[Row] = field(default_factory=list)

    def http(self) -> AbstractContextManager[Call]:
        assert self.server is not None
        return http_session(self.server.base_url)

    def sql(self) -> AbstractContextManager[Call]:
        return sql_session(self.url)

    def cpu(self) -> Cpu:
        assert self.server is not None
        return cpu_now(self.server.pid)

    def load(
        self, session: Session, jobs: Sequence[Job], clients: int, seconds: float
    ) -> LoadResult:
        return run_load(session, jobs, clients, seconds, self.args.max_requests, self.cpu)

    def measure(self, name: str, jobs: Sequence[Job], clients: int) -> None:
        for session in (self.http, self.sql):
            self.load(session, jobs[::-1], clients, self.args.warmup)
        sessions_before = pg_sessions(self.engine)
        api = self.load(self.http, jobs, clients, self.args.duration)
        sessions_after = pg_sessions(self.engine)
        ref = self.load(self.sql, jobs, clients, self.args.duration)
        opened = None
        if sessions_before is not None and sessions_after is not None:
            opened = sessions_after - sessions_before
        row = Row(name, clients, api, ref, opened)
        self.rows.append(row)
        print(
            f"  {name:<10} x{clients:<2}  API {api.rps:7.1f} req/s  "
            f"ref {ref.rps:7.1f} req/s  ratio {row.ratio:.2f}",
            flush=True,
        )

    def survey(self, tiles: Sequence[Job]) -> LoadResult:
        return run_load(self.http, tiles, 4, self.args.survey_seconds, len(tiles))

    def plans(self, jobs: Sequence[Job]) -> dict[str, LoadResult]:
        """One client sending ``jobs`` (one statement text) under each ``PLAN_MODES`` entry."""
        sample = jobs[0].query
        assert sample is not None
        results = {}
        for mode in PLAN_MODES:
            session = functools.partial(plan_session, self.url, mode, sample)
            results[mode] = run_load(
                session, jobs, 1, self.args.plan_seconds, self.args.max_requests
            )
        return results

    def http_floor(self) -> LoadResult:
        """The catalogue of layers: no database, so what HTTP, FastAPI and the client cost."""
        jobs = [Job("/api/layers", None)]
        self.load(self.http, jobs, 1, 1.0)
        return self.load(self.http, jobs, 1, FLOOR_SECONDS)


def workers_for(args: argparse.Namespace, clients: int) -> int:
    return int(args.workers if clients == 1 else args.workers_concurrent)


def background_busy(seconds: float = 2.0) -> float:
    """Share of the machine's CPU in use while this script waits (other work skews results)."""
    before = _machine_cpu()
    time.sleep(seconds)
    return (_machine_cpu() - before) / (seconds * (os.cpu_count() or 1))


def print_config(
    args: argparse.Namespace,
    url: str,
    health: dict[str, object],
    points: int,
    tiles: dict[int, int],
) -> None:
    print("Configuration")
    print(f"  database      {safe_url(url)}")
    print(f"  projects      {health.get('projects')}, PostGIS {health.get('postgis')}")
    print(
        f"  machine       {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"uvicorn {uvicorn_version()}; client, server and PostGIS on one host, loopback only"
    )
    print(f"  busy before   {background_busy():.0%} of the machine's CPU used by other work")
    phases = ", ".join(f"{c} client(s): --workers {workers_for(args, c)}" for c in CONCURRENCY)
    print(f"  API server    uvicorn bench_api:portal --factory; {phases} (one server per phase)")
    print(
        f"  clients       {', '.join(map(str, CONCURRENCY))} concurrent (threads, one "
        f"http.client connection each; reference: one psycopg2 connection each, autocommit)"
    )
    print(
        f"  per run       at most {args.duration:g} s or {args.max_requests} requests, "
        f"after {args.warmup:g} s warm-up per query and side at the same concurrency"
    )
    print(
        f"  sample points {points} (TABLESAMPLE SYSTEM (0.1), seed {args.seed}), "
        f"jitter +/-{JITTER_M:g} m; click radius {DEFAULT_RADIUS_M:g} m (default); "
        f"box {2 * BOX_HALF_M:g} m x {2 * BOX_HALF_M:g} m, limit 100"
    )
    print(
        "  tiles         distinct tiles covering the points: "
        + ", ".join(f"z{z} {n}" for z, n in tiles.items())
        + f" (size survey: 4 clients, at most {args.survey_seconds:g} s per zoom)"
    )
    print()


def uvicorn_version() -> str:
    import uvicorn

    return str(uvicorn.__version__)


def print_table(rows: Sequence[Row], floor: LoadResult) -> None:
    header = (
        f"{'query':<10} {'clients':>7} | {'API p50':>8} {'p99':>8} {'req/s':>8} | "
        f"{'ref p50':>8} {'p99':>8} {'req/s':>8} | {'API/ref':>7} | {'n API':>6} "
        f"{'n ref':>6} {'errors':>6} {'body KB':>7}"
    )
    print("Latency in ms, throughput in successful requests/s; body: mean API response size")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.name:<10} {r.clients:>7} | {r.api.percentile_ms(50):8.2f} "
            f"{r.api.percentile_ms(99):8.2f} {r.api.rps:8.1f} | {r.ref.percentile_ms(50):8.2f} "
            f"{r.ref.percentile_ms(99):8.2f} {r.ref.rps:8.1f} | {r.ratio:7.2f} | "
            f"{r.api.count:>6} {r.ref.count:>6} {r.api.errors + r.ref.errors:>6} "
            f"{statistics.fmean(r.api.sizes or [0]) / 1024:7.1f}"
        )
    print(
        f"HTTP floor, GET /api/layers (no database), 1 client: p50 "
        f"{floor.percentile_ms(50):.2f} ms, p99 {floor.percentile_ms(99):.2f} ms, "
        f"{floor.rps:.1f} req/s, n {floor.count}, errors {floor.errors}"
    )
    print()


def print_cpu(rows: Sequence[Row]) -> None:
    print(
        "CPU ms per request (clients = this process; rest = PostGIS and anything else running);"
        "\nnew PG sessions = PostgreSQL connections the API opened during its run"
    )
    header = (
        f"{'query':<10} {'clients':>7} | {'API: clients':>12} {'server':>7} {'rest':>7} "
        f"{'total':>7} | {'ref: clients':>12} {'rest':>7} {'total':>7} | {'new PG sessions':>15}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        a_client, a_server, a_rest = r.api.cpu_ms()
        r_client, r_server, r_rest = r.ref.cpu_ms()
        print(
            f"{r.name:<10} {r.clients:>7} | {a_client:12.2f} {a_server:7.2f} {a_rest:7.2f} "
            f"{a_client + a_server + a_rest:7.2f} | {r_client:12.2f} {r_server + r_rest:7.2f} "
            f"{r_client + r_server + r_rest:7.2f} | "
            f"{'n/a' if r.new_sessions is None else r.new_sessions:>15}"
        )
    print()


def print_sizes(surveys: dict[int, tuple[int, LoadResult]]) -> None:
    print("Tile sizes (every distinct tile covering the sample points, from the API)")
    header = (
        f"{'zoom':>4} {'tiles':>6} {'fetched':>7} {'empty':>6} {'mean B':>9} "
        f"{'p99 B':>9} {'max B':>9} {'> 500 KB':>8} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for z, (total, s) in surveys.items():
        sizes = s.sizes or [0]
        print(
            f"{z:>4} {total:>6} {s.count:>7} {sum(1 for b in s.sizes if b == 0):>6} "
            f"{statistics.fmean(sizes):9.0f} {percentile(sizes, 99):9.0f} {max(sizes):9d} "
            f"{sum(1 for b in s.sizes if b > MAX_TILE_BYTES):>8} {s.errors:>6}"
        )
    print()


def print_plans(plans: dict[str, dict[str, LoadResult]]) -> None:
    print(
        "Prepared statements (reference side, 1 client): the statement with its values written "
        "in (literal, as\nthe API sends it), or PREPAREd on the server and EXECUTEd with "
        "plan_cache_mode forcing a custom\nor a generic plan; latency in ms"
    )
    header = f"{'query':<10} " + " ".join(f"{m + ' p50':>24} {'p99':>7}" for m in PLAN_MODES)
    header += f" {'generic/literal':>16}"
    print(header)
    print("-" * len(header))
    for name, results in plans.items():
        cells = " ".join(
            f"{r.percentile_ms(50):>24.2f} {r.percentile_ms(99):>7.2f}" for r in results.values()
        )
        slower = results["force_generic_plan"].percentile_ms(50) / max(
            results["literal"].percentile_ms(50), 1e-9
        )
        errors = sum(r.errors for r in results.values())
        print(f"{name:<10} {cells} {slower:>15.2f}x" + (f"  errors {errors}" if errors else ""))
    print()


def targets(
    rows: Sequence[Row], surveys: dict[int, tuple[int, LoadResult]]
) -> list[tuple[str, bool]]:
    checks = []
    for r in rows:
        errors = r.api.errors + r.ref.errors
        label = (
            f"{r.name} x{r.clients}: API throughput {r.ratio:.0%} of reference "
            f">= {TARGET_RATIO:.0%}"
        )
        if errors:
            label += f" ({errors} failed requests)"
        checks.append((label, r.ratio >= TARGET_RATIO and not errors))
    click = next(r for r in rows if r.name == "click" and r.clients == 1)
    p99 = click.api.percentile_ms(99)
    checks.append(
        (f"click x1: API p99 {p99:.2f} ms < {TARGET_CLICK_P99_MS:g} ms", p99 < TARGET_CLICK_P99_MS)
    )
    for z, (total, s) in surveys.items():
        largest = max(s.sizes, default=0)
        complete = s.count == total and s.errors == 0
        checks.append(
            (
                f"z{z}: no tile over 500 KB (largest {largest} B, "
                f"{s.count}/{total} fetched, {s.errors} errors)",
                complete and largest <= MAX_TILE_BYTES,
            )
        )
    return checks


def print_targets(checks: Sequence[tuple[str, bool]]) -> None:
    print("Targets")
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    print(f"  {sum(ok for _, ok in checks)}/{len(checks)} passed")


def finish(checks: Sequence[tuple[str, bool]], began: float) -> int:
    """Print the targets and the run's time (since the monotonic ``began``); the exit status:
    0 when every target passes."""
    print_targets(checks)
    print(f"Total run time {time.monotonic() - began:.0f} s")
    return 0 if all(ok for _, ok in checks) else 1


# --- main ---------------------------------------------------------------------------------


def workload(
    rng: random.Random, points: Sequence[tuple[float, float]], n: int
) -> list[tuple[str, list[Job]]]:
    return [
        ("click", click_jobs(rng, points, n)),
        ("bbox 500m", bbox_jobs(rng, points, n)),
        *((f"tile z{z}", tile_jobs(z, points, n)) for z in ZOOMS),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url or default_database_url()
    rng = random.Random(args.seed)  # noqa: S311 (sampling, not secrets)
    engine = engine_for(url, pool_size=max(CONCURRENCY), max_overflow=4)
    began = time.monotonic()
    try:
        points = sample_points(engine, args.points, args.seed)
        if not points:
            print("The database holds no projects; load them with `allimi demo`.")
            return 2
        tiles = {z: distinct_tiles(z, points) for z in ZOOMS}
        queries = workload(rng, points, args.max_requests)
        bench = Bench(args, url, engine)
        for clients in CONCURRENCY:
            workers = workers_for(args, clients)
            with api_server(url, workers, UNLIMITED) as bench.server:
                if clients == CONCURRENCY[0]:
                    counts = {z: len(t) for z, t in tiles.items()}
                    print_config(args, url, bench.server.health, len(points), counts)
                    print("Tile-size survey (also warms the caches)", flush=True)
                    surveys = {z: (len(t), bench.survey(t)) for z, t in tiles.items()}
                    floor = bench.http_floor()
                print(f"Measurements: {clients} client(s), {workers} worker(s)", flush=True)
                for name, jobs in queries:
                    bench.measure(name, jobs, clients)
        print("Prepared statements and plan modes", flush=True)
        plans = {name: bench.plans(jobs) for name, jobs in queries}
        order = [name for name, _ in queries]
        rows = sorted(bench.rows, key=lambda r: (order.index(r.name), r.clients))
        print()
        print_table(rows, floor)
        print_cpu(rows)
        print_sizes(surveys)
        print_plans(plans)
        checks = targets(rows, surveys)
        return finish(checks, began)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
