"""Benchmark ``allimi import`` of a GeoPackage against ``ogr2ogr`` loading the same file.

What it measures, in one run, on a database of its own (``allimi_bench_import``, dropped and
made anew with Seoul and one agency each time it runs):

* a full import of ``--rows`` projects (default 100,000) by the real command, ``allimi import
  FILE --mapping M --agency A`` in a child process: every row through the mapping and the write
  API's field rules, every geometry checked in PostGIS, the projects inserted and each logged
  in the change log. Afterwards the database must hold every row and ``allimi verify-log``
  must pass;
* the reference: ``ogr2ogr -f PostgreSQL`` loading the same file into a plain table with a
  GiST index (no mapping, no checks, no log), in the same run;
* both again on a file of ``--small-rows`` (default a quarter), to see whether memory grows
  with the file.

For each: wall time, rows a second, the child's CPU time, the CPU the rest of the machine used
meanwhile (PostgreSQL above all) and the child's peak resident memory (``wait4``'s
``ru_maxrss``). The file is generated first (timed apart, not compared): the Korean field names
of an agency's own list, so that a mapping is needed (ids, a title, a budget in thousands of
won, stages needing a value map, dates as ``2027.03.01`` text, a progress, a contractor with
blanks, an address; category and project type constants), with points and short lines (50 to
400 m) inside Seoul's districts as stored in the database, drawn with a fixed seed.

Targets: the import at most ``TARGET_RATIO`` times ogr2ogr's time on the large file; its peak
memory at most ``TARGET_GROWTH`` times the small file's, and under ``TARGET_PEAK_MB``. The exit
status is 0 only when every target passes. ``ogr2ogr`` is Debian's ``gdal-bin``, installed when
it is missing and the script runs as root.

Run from the repository root::

    .venv/bin/python bench/bench_import.py                  # 100,000 and 25,000 rows
    .venv/bin/python bench/bench_import.py --rows 1000000 --small-rows 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import yaml
from bench_api import CLOCK_TICKS, background_busy, finish, safe_url
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from geo.agencies import create_agency
from geo.jurisdiction import SEOUL, init_city, read_city
from geo.settings import Settings
from geo.store import migrate
from geo.store.database import drop_database, engine_for, prepare

BENCH_DB = "allimi_bench_import"
PROTECTED = ("allimi", "allimi_bench", "postgres", "template0", "template1")
AGENCY = "BENCH-IMPORT"
LAYER = "projects"
OGR_TABLE = "ogr_projects"
TARGET_RATIO = 1.5
TARGET_GROWTH = 1.3
TARGET_PEAK_MB = 1024.0
TIMEOUT_S = 3600.0
LINE_SHARE = 0.3  # the rest are points
LINE_METRES = (50.0, 400.0)
METRES_PER_DEGREE = 111_320.0

# The agency's own words for its stages, and the mapping from its columns to a project's fields
STAGES = {
    "계획": "preparation",
    "착공": "implementation",
    "준공": "completion",
    "중지": "suspended",
}
MAPPING: dict[str, Any] = {
    "key": "사업번호",
    "fields": {
        "title": "사업명",
        "budget": {"column": "예산_천원", "scale": 1000},
        "status": {"column": "단계", "values": STAGES},
        "planned_start": {"column": "착공일", "date_format": "%Y.%m.%d"},
        "planned_end": {"column": "준공예정일", "date_format": "%Y.%m.%d"},
        "progress_actual": "공정률",
        "contractor": "시공사",
        "address": "위치",
        "category": {"value": "road"},
        "project_type": {"value": "rehabilitation"},
    },
}
WORKS = ("보도 정비", "차도 포장", "상수도관 교체", "하수관로 정비", "가로등 교체")
CONTRACTORS = ("(주)한빛건설", "(주)서울토건", "대한종합건설(주)", "(주)미래도로")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="projects in the large file")
    parser.add_argument(
        "--small-rows", type=int, help="projects in the small file (default: a quarter of --rows)"
    )
    parser.add_argument(
        "--database-name", default=BENCH_DB, help=f"database to drop and make (default {BENCH_DB})"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the file")
    parser.add_argument(
        "--workdir", type=Path, help="where the files are written and kept (default: a temporary "
        "folder, removed afterwards)"
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=Path, help="sample the large import with py-spy (--idle: the waits on "
        "PostgreSQL too) into this file, as raw collapsed stacks"
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.profile and not (Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile needs py-spy in the virtual environment")
    if args.small_rows is None:
        args.small_rows = max(args.rows // 4, 1)
    if not 0 < args.small_rows < args.rows:
        parser.error("--small-rows must be between 1 and --rows")
    if args.database_name in (*PROTECTED, Settings().db_name):
        parser.error(f"{args.database_name} is not the benchmark's to drop; choose another name")
    return args


# --- ogr2ogr ----------------------------------------------------------------------------------


def ensure_ogr2ogr() -> str | None:
    """The path of ``ogr2ogr``, installing Debian's ``gdal-bin`` when missing and allowed."""
    found = shutil.which("ogr2ogr")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("ogr2ogr is missing: install Debian's gdal-bin (sudo apt-get install gdal-bin).")
        return None
    print("ogr2ogr is missing: installing Debian's gdal-bin", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "gdal-bin"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        subprocess.run(install, env=env, capture_output=True, check=False)
    found = shutil.which("ogr2ogr")
    if not found:
        print("Installing gdal-bin failed; check the package sources (apt-get update).")
    return found


def ogr2ogr_version(ogr2ogr: str) -> str:
    done = subprocess.run([ogr2ogr, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def ogr_command(ogr2ogr: str, url: str, path: Path) -> tuple[list[str], dict[str, str]]:
    """The ogr2ogr command loading ``path`` into ``url``'s database, and its environment
    (the password goes in ``PGPASSWORD``, not on the command line)."""
    parsed = make_url(url)
    target = (f"PG:dbname={parsed.database} host={parsed.host or 'localhost'} "
              f"port={parsed.port or 5432} user={parsed.username}")  # fmt: skip
    command = [ogr2ogr, "-f", "PostgreSQL", target, str(path), "-nln", OGR_TABLE, "-lco",
               "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "-overwrite"]  # fmt: skip
    return command, {**os.environ, "PGPASSWORD": parsed.password or ""}


# --- the database -----------------------------------------------------------------------------


def fresh_database(name: str) -> str:
    """Database ``name`` dropped, made, migrated, with Seoul and the agency ``AGENCY``."""
    settings = Settings()
    drop_database(prepare(settings, name))
    url = prepare(settings, name)
    migrate.upgrade(url)
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            init_city(conn, read_city(SEOUL))
            create_agency(conn, AGENCY, {"ko": "벤치마크 도로과", "en": "Benchmark Roads Office"})
    finally:
        engine.dispose()
    return url


def districts(engine: Engine) -> tuple[list[str], Any]:
    """Seoul's districts as stored: their names and polygons (EPSG:4326)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT name->>'ko', ST_AsBinary(geom) FROM districts WHERE level = 1 ORDER BY code"
            )
        ).all()
    return [str(r[0]) for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


# --- the file ---------------------------------------------------------------------------------


def _inside(rng: np.random.Generator, areas: Any, n: int) -> tuple[Any, Any, Any]:
    """``n`` points drawn evenly inside ``areas``: x, y and the index of the area of each."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(areas)
    tree = shapely.STRtree(areas)
    xs, ys, owner = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        x = rng.uniform(xmin, xmax, 2 * (n - filled))
        y = rng.uniform(ymin, ymax, 2 * (n - filled))
        point, area = tree.query(shapely.points(x, y), predicate="within")
        _, first = np.unique(point, return_index=True)  # in two areas (they overlap): once
        point, area = point[first][: n - filled], area[first][: n - filled]
        take = slice(filled, filled + len(point))
        xs[take], ys[take], owner[take] = x[point], y[point], area
        filled += len(point)
    return xs, ys, owner


def _lines(rng: np.random.Generator, union: Any, x: Any, y: Any) -> Any:
    """A line from each (x, y), 50 to 400 m long, lying inside ``union`` (prepared)."""
    lines = np.empty(len(x), dtype=object)
    todo = np.arange(len(x))
    while len(todo):
        length = rng.uniform(*LINE_METRES, len(todo))
        bearing = rng.uniform(0, 2 * np.pi, len(todo))
        dx = length * np.cos(bearing) / (METRES_PER_DEGREE * np.cos(np.radians(y[todo])))
        dy = length * np.sin(bearing) / METRES_PER_DEGREE
        ends = np.column_stack([x[todo] + dx, y[todo] + dy])
        lines[todo] = shapely.linestrings(np.stack([np.column_stack([x[todo], y[todo]]), ends], 1))
        todo = todo[~shapely.covered_by(lines[todo], union)]
    return lines


def generate(names: list[str], areas: Any, rows: int, seed: int) -> gpd.GeoDataFrame:
    """``rows`` projects in an agency's own words, inside ``areas`` (see the module's doc)."""
    rng = np.random.default_rng(seed)
    x, y, owner = _inside(rng, areas, rows)
    union = shapely.union_all(areas)
    shapely.prepare(union)
    lines = rng.random(rows) < LINE_SHARE
    geometry = shapely.points(x, y)
    geometry[lines] = _lines(rng, union, x[lines], y[lines])
    first = date(2025, 1, 1)
    start = rng.integers(0, 3 * 365, rows)
    end = start + rng.integers(30, 900, rows)
    works = rng.integers(0, len(WORKS), rows)
    contractor = rng.integers(0, len(CONTRACTORS) + 1, rows)  # the last: none given
    stages = list(STAGES)
    stage = rng.integers(0, len(stages), rows)
    progress = np.round(rng.uniform(0, 100, rows), 1)
    budget = rng.integers(10_000, 50_000_000, rows)  # thousands of won
    street = rng.integers(1, 300, rows)
    columns = {
        "사업번호": [f"BI-{i + 1:07d}" for i in range(rows)],
        "사업명": [
            f"{names[o]} {WORKS[w]} {i + 1}공구"
            for i, (o, w) in enumerate(zip(owner, works, strict=True))
        ],
        "예산_천원": budget,
        "단계": [stages[s] for s in stage],
        "착공일": [(first + timedelta(days=int(d))).strftime("%Y.%m.%d") for d in start],
        "준공예정일": [(first + timedelta(days=int(d))).strftime("%Y.%m.%d") for d in end],
        "공정률": progress,
        "시공사": [CONTRACTORS[c] if c < len(CONTRACTORS) else None for c in contractor],
        "위치": [f"서울특별시 {names[o]} 테스트로 {s}" for o, s in zip(owner, street, strict=True)],
    }
    return gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326")


def write_file(frame: gpd.GeoDataFrame, path: Path) -> None:
    pyogrio.write_dataframe(frame, path, layer=LAYER, driver="GPKG", geometry_type="Unknown")


# --- measuring a child process ----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One child process: what it took, and what it said."""

    name: str
    rows: int
    seconds: float
    cpu: float  # the child's user + system seconds
    rest: float  # CPU seconds the rest of the machine used meanwhile
    peak_mb: float
    status: int
    output: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def machine_cpu() -> float:
    """CPU seconds the whole machine has used since boot (not idle, not waiting)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


# A small process that starts the command and reports its usage: Linux counts, in a child's
# ru_maxrss, the memory of the process it was forked from (here, this one, with its frames);
# forked from this small one instead, the command's own peak shows.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        print(f"cannot run {sys.argv[2]}: {exc}", file=sys.stderr)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measured(name: str, rows: int, command: list[str], env: dict[str, str]) -> Run:
    """Run ``command`` to its end: its wall time, CPU time and peak resident memory."""
    with tempfile.TemporaryDirectory(prefix="bench-import-run-") as scratch:
        usage, log = Path(scratch) / "usage", Path(scratch) / "output"
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(usage), *command]
        with log.open("w") as output:
            busy, began = machine_cpu(), time.perf_counter()
            child = subprocess.Popen(launcher, env=env, stdout=output, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
            try:
                status = child.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                status = child.wait()
            seconds, busy = time.perf_counter() - began, machine_cpu() - busy
        said = log.read_text(errors="replace")
        kib, cpu = usage.read_text().split() if usage.exists() else ("0", "0")
    return Run(name, rows, seconds, float(cpu), max(busy - float(cpu), 0.0), int(kib) / 1024,
               status, said)  # fmt: skip


def allimi(*words: str) -> list[str]:
    return [str(Path(sys.executable).parent / "allimi"), *words]


def imported(url: str, path: Path, mapping: Path, rows: int, profile: Path | None = None) -> Run:
    """The full import of ``path``; under py-spy (its samples written to ``profile``) if given."""
    command = allimi("import", str(path), "--mapping", str(mapping), "--agency", AGENCY)
    if profile:
        spy = str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--idle", "-r", "50", "-f", "raw", "-o", str(profile), "--",
                   *command]  # fmt: skip
    run = measured("allimi import", rows, command, {**os.environ, "DATABASE_URL": url})
    if run.status != 0:
        raise SystemExit(f"allimi import failed ({run.status}):\n{run.output[-3000:]}")
    return run


def loaded(ogr2ogr: str, url: str, path: Path, rows: int) -> Run:
    command, env = ogr_command(ogr2ogr, url, path)
    run = measured("ogr2ogr", rows, command, env)
    if run.status != 0:
        raise SystemExit(f"ogr2ogr failed ({run.status}):\n{run.output[-3000:]}")
    return run


def in_process(run: Run) -> str:
    """The import's own time as it reports it (``Imported in N s``), or ``?``."""
    found = re.search(r"Imported in ([\d.]+) s", run.output)
    return f"{float(found.group(1)):.1f} s" if found else "?"


def verified(url: str, rows: int) -> list[tuple[str, bool]]:
    """The database holds every imported row and ogr2ogr's, and the change log verifies."""
    engine = engine_for(url)
    try:
        projects = scalar(engine, "SELECT count(*) FROM projects WHERE source_key IS NOT NULL")
        logged = scalar(engine, "SELECT count(*) FROM changes WHERE action = 'create'")
        ogr = scalar(engine, f"SELECT count(*) FROM {OGR_TABLE}")  # noqa: S608 - a constant
    finally:
        engine.dispose()
    done = subprocess.run(allimi("verify-log"), env={**os.environ, "DATABASE_URL": url},
                          capture_output=True, text=True, check=False)  # fmt: skip
    print("After the large import")
    print(f"  projects      {projects:,} imported, {logged:,} 'create' entries in the log")
    print(f"  {OGR_TABLE:<13} {ogr:,} rows")
    said = (done.stdout + done.stderr).strip().splitlines() or ["(nothing)"]
    print(f"  verify-log    {said[-1]}\n")
    return [
        (f"the database holds the {rows:,} imported projects ({projects:,})", projects == rows),
        (f"one 'create' log entry per project ({logged:,})", logged == rows),
        ("allimi verify-log passes", done.returncode == 0),
        (f"ogr2ogr loaded {rows:,} rows ({ogr:,})", ogr == rows),
    ]


# --- main ---------------------------------------------------------------------------------------


def print_runs(runs: Sequence[Run]) -> None:
    print("Results (rest: CPU the rest of the machine used meanwhile, PostgreSQL above all)")
    print(f"  {'tool':<14} {'rows':>10} {'seconds':>8} {'rows/s':>8} {'CPU s':>7} {'rest s':>7} "
          f"{'peak MB':>8}")  # fmt: skip
    for r in runs:
        print(f"  {r.name:<14} {r.rows:>10,} {r.seconds:>8.1f} {r.rate:>8,.0f} {r.cpu:>7.1f} "
              f"{r.rest:>7.1f} {r.peak_mb:>8.0f}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    ogr2ogr = ensure_ogr2ogr()
    if ogr2ogr is None:
        return 2
    print("Setting up the database", flush=True)
    clock = time.perf_counter()
    url = fresh_database(args.database_name)
    setup_s = time.perf_counter() - clock
    engine = engine_for(url)
    try:
        names, areas = districts(engine)
        postgis = scalar(engine, "SELECT postgis_lib_version()")
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        folder = args.workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print("Generating the files", flush=True)
        clock = time.perf_counter()
        frame = generate(names, areas, args.rows, args.seed)
        large = folder / f"projects-{args.rows}.gpkg"
        small = folder / f"projects-{args.small_rows}.gpkg"
        write_file(frame, large)
        write_file(frame.iloc[: args.small_rows], small)
        del frame
        mapping = folder / "mapping.yaml"
        mapping.write_text(yaml.safe_dump(MAPPING, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")  # fmt: skip
        generate_s = time.perf_counter() - clock

        print("\nConfiguration")
        print(f"  database      {safe_url(url)} (made in {setup_s:.1f} s: Seoul, agency {AGENCY})")
        print(f"  machine       {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"PostGIS {postgis}, pyogrio {pyogrio.__version__} "
              f"(GDAL {pyogrio.__gdal_version_string__})")  # fmt: skip
        print(f"  ogr2ogr       {ogr2ogr_version(ogr2ogr)}")
        print(f"  busy before   {background_busy():.0%} of the machine's CPU used by other work")
        print(f"  files         {large} ({large.stat().st_size / 2**20:.1f} MB), "
              f"{small.name} ({small.stat().st_size / 2**20:.1f} MB); generated in "
              f"{generate_s:.1f} s (seed {args.seed}, {LINE_SHARE:.0%} lines)")  # fmt: skip
        print(f"  import        allimi import FILE --mapping {mapping.name} --agency {AGENCY} "
              f"(DATABASE_URL set; a fresh database for each file)")  # fmt: skip
        if args.profile:
            print(f"  profile       the large import sampled by py-spy into {args.profile}")
        print(f"  reference     {' '.join(ogr_command(ogr2ogr, url, large)[0][1:])}\n")

        print(f"Small file: import, then ogr2ogr ({args.small_rows:,} rows)", flush=True)
        small_import = imported(url, small, mapping, args.small_rows)
        small_ogr = loaded(ogr2ogr, url, small, args.small_rows)
        print(f"Large file: ogr2ogr, then import ({args.rows:,} rows), on a fresh database",
              flush=True)  # fmt: skip
        fresh_database(args.database_name)
        large_ogr = loaded(ogr2ogr, url, large, args.rows)
        large_import = imported(url, large, mapping, args.rows, args.profile)
        print()
    checks = verified(url, args.rows)
    print_runs([large_import, large_ogr, small_import, small_ogr])
    ratio = large_import.seconds / large_ogr.seconds
    growth = large_import.peak_mb / small_import.peak_mb
    print(f"\n  import / ogr2ogr time   {ratio:.2f}x on {args.rows:,} rows, "
          f"{small_import.seconds / small_ogr.seconds:.2f}x on {args.small_rows:,}")  # fmt: skip
    times = args.rows / args.small_rows
    print(f"  import peak memory      {growth:.2f}x for {times:.0f}x the rows")
    print(f"  import_file's own time  {in_process(large_import)} of {large_import.seconds:.1f} s "
          f"(the rest: start-up, migrations check, reading the mapping)\n")  # fmt: skip
    checks += [
        (f"full import at most {TARGET_RATIO}x ogr2ogr's time ({ratio:.2f}x)",
         ratio <= TARGET_RATIO),
        (f"import peak memory flat: {args.rows:,} rows at most {TARGET_GROWTH}x "
         f"{args.small_rows:,} rows' ({growth:.2f}x)", growth <= TARGET_GROWTH),
        (f"import peak memory under {TARGET_PEAK_MB:.0f} MB ({large_import.peak_mb:.0f} MB)",
         large_import.peak_mb < TARGET_PEAK_MB),
    ]  # fmt: skip
    return finish(checks, began)


if __name__ == "__main__":
    sys.exit(main())
