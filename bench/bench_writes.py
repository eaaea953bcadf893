"""Benchmark the officials' writes on the 1,000,000-project database, and what they cost the
readers of the public map.

What it measures, in one run:

* ``PATCH /api/projects/{code}`` (a progress change with ``If-Match``, logged in the change
  log) with 1 and 16 concurrent clients, each client editing projects of its own, against a
  reference: the same UPDATE and the same change-log append (head row locked, entry hashed,
  inserted, head moved) issued straight to PostgreSQL on a psycopg2 connection per client, one
  transaction per edit. Target: the API at least half the reference's throughput.
* the click query and z12/z14 tiles with 1 and 16 readers, served as by default (the response
  cache on), alone and then while a writer makes one edit a second through the same API; each
  phase starts just after an edit, so both begin with the bodies kept before it out of date,
  and after a first pass over the same requests, so neither pays for reading the disk.

The projects edited are real (not sample) projects of one agency, made by this script the
first time it runs (``BENCH_PROJECTS`` of them, titled ``BENCH_TITLE``) and reused after; the
edits it makes go into the database's change log like any other, and the chain stays valid.

Run from the repository root::

    .venv/bin/python bench/bench_writes.py                  # database allimi_bench
    .venv/bin/python bench/bench_writes.py --database-url postgresql://... --duration 10
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date

import psycopg2
from bench_api import (
    REQUEST_TIMEOUT_S,
    UNLIMITED,
    Cpu,
    Job,
    LoadResult,
    api_server,
    click_jobs,
    cpu_now,
    default_database_url,
    finish,
    http_session,
    measurement_arguments,
    run_load,
    safe_url,
    sample_points,
    tile_jobs,
)
from fastapi import FastAPI
from sqlalchemy import Engine, text

from api.app import create_app
from api.database import libpq_dsn
from geo.accounts import NewUser, add_user, issue_token
from geo.changelog import canonical, link
from geo.project_writes import Actor, create_project
from geo.settings import Settings
from geo.store.database import engine_for, read_url, write_url
from geo.transaction import run

CONCURRENCY = (1, 16)
BENCH_PROJECTS = 64  # 16 clients x 4 projects each
BENCH_TITLE = "Benchmark edit target"
BENCH_EMAIL = "bench-official@allimi.invalid"
TARGET_RATIO = 0.5
EDITS_PER_S = 1.0
READ_ZOOMS = (12, 14)
TOKEN_SECONDS = 3600.0


def portal() -> FastAPI:
    """The API as ``allimi run`` serves it, reading and writing (uvicorn ``--factory``)."""
    settings = Settings()
    return create_app(settings, read_url(settings), write_url(settings))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="database to benchmark (default: allimi_bench)")
    measurement_arguments(parser)
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    parser.add_argument(
        "--only", choices=("edits", "readers"), help="measure the edits or the readers only"
    )
    return parser.parse_args(argv)


# --- the projects and the account that edits them -----------------------------------------


@dataclass(frozen=True)
class Target:
    """A project one client edits: its id and code, and the agency whose official edits it."""

    id: int
    code: str
    agency: str


def bench_account(engine: Engine) -> tuple[int, str]:
    """The official who edits (made once), and its agency."""
    with engine.begin() as conn:
        found = conn.execute(
            text("SELECT id, agency_code FROM users WHERE email = :e"), {"e": BENCH_EMAIL}
        ).first()
        if found:
            return int(found[0]), str(found[1])
        agency = conn.execute(text("SELECT code FROM agencies ORDER BY code LIMIT 1")).scalar_one()
        user = NewUser(BENCH_EMAIL, "Benchmark official", "official", secrets.token_urlsafe(24),
                       agency)  # fmt: skip
        return add_user(conn, user), str(agency)


def bench_targets(engine: Engine, user_id: int, agency: str) -> list[Target]:
    """``BENCH_PROJECTS`` published projects of the agency, made through the write path the
    first time."""
    find = text(
        "SELECT id, code FROM projects WHERE title = :t AND agency_code = :a AND NOT is_sample "
        "AND withdrawn_at IS NULL ORDER BY id"
    )
    with engine.begin() as conn:
        have = conn.execute(find, {"t": BENCH_TITLE, "a": agency}).all()
        if len(have) < BENCH_PROJECTS:
            centre = conn.execute(
                text(
                    "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) AS c "
                    "FROM districts) d"
                )
            ).one()
            actor = Actor(user_id, "official", agency)
            for i in range(len(have), BENCH_PROJECTS):
                lon, lat = centre[0] + (i % 8) * 0.001, centre[1] + (i // 8) * 0.001
                run(conn, create_project(actor, {
                    "title": BENCH_TITLE, "category": "road", "project_type": "rehabilitation",
                    "status": "implementation", "budget": "100000000",
                    "planned_start": date(2026, 1, 1).isoformat(),
                    "planned_end": date(2027, 12, 31).isoformat(),
                    "progress_actual": "10", "published": True,
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                }))  # fmt: skip
            have = conn.execute(find, {"t": BENCH_TITLE, "a": agency}).all()
    return [Target(int(i), str(c), agency) for i, c in have]


def bench_token(engine: Engine, user_id: int) -> str:
    with engine.begin() as conn:
        token, _ = issue_token(conn, user_id, "api", "benchmark", TOKEN_SECONDS)
    return token


# --- sessions that edit ---------------------------------------------------------------------

EditSession = Callable[[], AbstractContextManager[Callable[[Job], int | None]]]


# Every edit of this process sets a value of its own (an edit that changes nothing writes and
# logs nothing, and would measure less): a count shared by every session, taken modulo a
# prime, from a start that differs between runs.
EDITS = itertools.count(time.time_ns() // 1000)
STEPS = 7919  # distinct values, a prime: no client's round of projects divides it


def progress_values() -> Iterator[str]:
    """Progress values (10.00 to 89.18) that differ from the last one a project was given."""
    return (f"{10 + (next(EDITS) % STEPS) / 100:.2f}" for _ in itertools.count())


def edit_jobs(targets: Sequence[Target], clients: int, n: int) -> list[list[Job]]:
    """Each client's own projects, as jobs whose path names the project's code."""
    mine = [targets[c::clients] for c in range(clients)]
    return [[Job(t.code, None) for t in itertools.islice(itertools.cycle(own), n)] for own in mine]


@contextmanager
def patch_session(base_url: str, token: str) -> Iterator[Callable[[Job], int | None]]:
    """PATCH over one keep-alive connection, each edit from the version the last one left."""
    address = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(
        address.hostname or "127.0.0.1", address.port, timeout=REQUEST_TIMEOUT_S
    )
    versions: dict[str, str] = {}
    values = progress_values()
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def version_of(code: str) -> str:
        if code not in versions:
            connection.request("GET", f"/api/projects/{code}/working", headers=auth)
            versions[code] = json.loads(connection.getresponse().read())["version"]
        return versions[code]

    def call(job: Job) -> int | None:
        body = json.dumps({"progress_actual": next(values)})
        headers = {**auth, "If-Match": f'"{version_of(job.path)}"'}
        connection.request("PATCH", f"/api/projects/{job.path}", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            versions.pop(job.path, None)
            return None
        versions[job.path] = json.loads(answer)["version"]
        return len(answer)

    try:
        yield call
    finally:
        connection.close()


UPDATE = (
    "UPDATE projects SET progress_actual = %(value)s, updated_at = now() "
    "WHERE code = %(code)s "
    "RETURNING id, agency_code, progress_actual"
)
HEAD = "SELECT seq, hash, now() FROM change_head FOR UPDATE"
ENTRY = (
    "INSERT INTO changes (seq, at, project_code, agency_code, role, action, content, "
    "prev_hash, hash) VALUES (%(seq)s, %(at)s, %(code)s, %(agency)s, 'official', 'edit', "
    "%(content)s, %(prev)s, %(hash)s); UPDATE change_head SET seq = %(seq)s, hash = %(hash)s"
)


@contextmanager
def sql_edit_session(url: str) -> Iterator[Callable[[Job], int | None]]:
    """The reference: the edit's UPDATE and its hash-chained log entry, one transaction."""
    connection = psycopg2.connect(libpq_dsn(url))
    cursor = connection.cursor()
    values = progress_values()

    def call(job: Job) -> int | None:
        value = next(values)
        cursor.execute(UPDATE, {"value": value, "code": job.path})
        _, agency, _ = cursor.fetchone()
        cursor.execute(HEAD)
        seq, previous, at = cursor.fetchone()
        content = canonical({
            "seq": seq + 1, "at": at, "action": "edit", "project": job.path, "agency": agency,
            "role": "official", "fields": {"progress_actual": ["", value]}, "reason": None,
        })  # fmt: skip
        digest = link(bytes(previous), content)
        entry = {"seq": seq + 1, "at": at, "code": job.path, "agency": agency}
        cursor.execute(
            ENTRY, {**entry, "content": content, "prev": bytes(previous), "hash": digest}
        )
        connection.commit()
        return len(content)

    try:
        yield call
    finally:
        connection.close()


def run_edits(
    session: EditSession, per_client: list[list[Job]], seconds: float, cap: int,
    cpu: Callable[[], Cpu],
) -> LoadResult:  # fmt: skip
    """``run_load`` with each client on projects of its own, so that no edit meets another
    client's newer version (a 412)."""
    lanes = iter(per_client)
    lock = threading.Lock()

    @contextmanager
    def own_session() -> Iterator[Callable[[Job], int | None]]:
        with lock:
            steps = itertools.cycle(next(lanes))
        with session() as call:
            yield lambda _job: call(next(steps))

    return run_load(own_session, [Job("", None)], len(per_client), seconds, cap, cpu)


# --- a writer beside the readers --------------------------------------------------------


@contextmanager
def steady_writer(base_url: str, token: str, targets: Sequence[Target]) -> Iterator[list[int]]:
    """One edit a second through the API until the block ends; yields [done, failed]."""
    counts = [0, 0]
    stop = threading.Event()

    def loop() -> None:
        jobs = itertools.cycle(Job(t.code, None) for t in targets)
        with patch_session(base_url, token) as call:
            next_at = time.perf_counter()
            while not stop.is_set():
                counts[0 if call(next(jobs)) is not None else 1] += 1
                next_at += 1.0 / EDITS_PER_S
                stop.wait(max(next_at - time.perf_counter(), 0.0))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield counts
    finally:
        stop.set()
        thread.join(REQUEST_TIMEOUT_S)


def data_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT version FROM data_version")).scalar_one())


def cold_start(base_url: str, token: str, targets: Sequence[Target]) -> None:
    """One edit, and the wait until the API has seen it: both reader phases start from bodies
    made before a write, as after any edit today (one data version keys them all)."""
    with patch_session(base_url, token) as call:
        call(Job(targets[0].code, None))
    time.sleep(Settings().version_ttl + 0.2)


def readers_beside_writer(
    base_url: str, token: str, targets: Sequence[Target], engine: Engine, jobs: Sequence[Job],
    clients: int, args: argparse.Namespace,
) -> tuple[LoadResult, LoadResult, list[int]]:  # fmt: skip
    """``jobs`` read by ``clients`` alone, then beside one edit a second, after a first pass;
    with the writer's [done, failed] edits and how far the data version moved meanwhile."""

    def session() -> AbstractContextManager[Callable[[Job], int | None]]:
        return http_session(base_url)

    # a first pass over the same requests: PostgreSQL's and the system's page caches hold what
    # the two phases read (else the first one pays the disk)
    run_load(session, jobs, clients, args.duration, args.max_requests)
    cold_start(base_url, token, targets)
    alone = run_load(session, jobs, clients, args.duration, args.max_requests)
    cold_start(base_url, token, targets)
    versions = data_version(engine)
    with steady_writer(base_url, token, targets) as edits:
        beside = run_load(session, jobs, clients, args.duration, args.max_requests)
    return alone, beside, [*edits, data_version(engine) - versions]


# --- reporting ------------------------------------------------------------------------------


def line(name: str, clients: int, result: LoadResult) -> str:
    return (
        f"{name:<24} x{clients:<3} {result.rps:8.1f} req/s  p50 {result.percentile_ms(50):7.1f} ms"
        f"  p99 {result.percentile_ms(99):7.1f} ms  errors {result.errors}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url or default_database_url()
    began = time.monotonic()
    engine = engine_for(url)
    writer_url = write_url(Settings(database_url=url))
    try:
        user_id, agency = bench_account(engine)
        targets = bench_targets(engine, user_id, agency)
        token = bench_token(engine, user_id)
        points = sample_points(engine, args.points, args.seed)
        count = engine.connect().execute(text("SELECT count(*) FROM projects")).scalar_one()
        print("Configuration")
        print(f"  database      {safe_url(url)} ({count:,} projects)")
        print(f"  edited        {len(targets)} projects of {agency}, {BENCH_EMAIL}")
        print(f"  measurement   {args.duration:.0f} s (at most {args.max_requests:,} requests), "
              f"warm-up {args.warmup:.0f} s")  # fmt: skip
        rng = random.Random(args.seed)  # noqa: S311 (sampling, not secrets)
        reads = [("click", click_jobs(rng, points, args.max_requests))] + [
            (f"tile z{z}", tile_jobs(z, points, args.max_requests)) for z in READ_ZOOMS
        ]
        rows: list[tuple[str, int, LoadResult, LoadResult]] = []
        readers: list[tuple[str, int, LoadResult, LoadResult, list[int]]] = []
        cache_on = {**UNLIMITED, "ALLIMI_CACHE_MB": str(Settings().cache_mb)}
        with api_server(url, 1, cache_on, app="bench_writes:portal") as server:
            cpu = lambda: cpu_now(server.pid)  # noqa: E731
            print("\nEdits: PATCH through the API, and the same SQL straight to PostgreSQL")
            for clients in CONCURRENCY if args.only != "readers" else ():
                lanes = edit_jobs(targets, clients, 64)
                api_session = lambda: patch_session(server.base_url, token)  # noqa: E731
                ref_session = lambda: sql_edit_session(writer_url)  # noqa: E731
                run_edits(api_session, lanes, args.warmup, args.max_requests, cpu)
                api = run_edits(api_session, lanes, args.duration, args.max_requests, cpu)
                ref = run_edits(ref_session, lanes, args.duration, args.max_requests, cpu)
                rows.append(("PATCH", clients, api, ref))
                print(f"  {line('API PATCH', clients, api)}")
                print(f"  {line('SQL UPDATE + log', clients, ref)}")
            print("\nReaders (response cache on), alone and beside one edit a second")
            for name, jobs in reads if args.only != "edits" else ():
                for clients in CONCURRENCY:
                    alone, beside, edits = readers_beside_writer(
                        server.base_url, token, targets, engine, jobs, clients, args
                    )
                    readers.append((name, clients, alone, beside, edits))
                    print(f"  {line(name + ' alone', clients, alone)}")
                    done = f"edits {edits[0]} ok, {edits[1]} failed, data version +{edits[2]}"
                    print(f"  {line(name + ' with 1 edit/s', clients, beside)}  {done}")
        print("\nSummary")
        print(f"  {'edit':<8} {'clients':>7} {'API req/s':>10} {'SQL req/s':>10} {'ratio':>6}")
        checks = []
        for _, clients, api, ref in rows:
            ratio = api.rps / ref.rps if ref.rps else 0.0
            print(f"  {'PATCH':<8} {clients:>7} {api.rps:>10.1f} {ref.rps:>10.1f} {ratio:>6.2f}")
            checks.append(
                (f"PATCH x{clients}: API >= {TARGET_RATIO:.0%} of the SQL", ratio >= TARGET_RATIO)
            )
        print(f"\n  {'read':<8} {'clients':>7} {'alone':>10} {'1 edit/s':>10} {'ratio':>6} "
              f"{'p99 alone':>10} {'p99 edits':>10}")  # fmt: skip
        for name, clients, alone, beside, _ in readers:
            ratio = beside.rps / alone.rps if alone.rps else 0.0
            p99 = f"{alone.percentile_ms(99):>8.1f}ms {beside.percentile_ms(99):>8.1f}ms"
            print(
                f"  {name:<8} {clients:>7} {alone.rps:>10.1f} {beside.rps:>10.1f}",
                f"{ratio:>6.2f} {p99}",
            )
        return finish(checks, began)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
