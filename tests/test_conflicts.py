"""The conflict engine on hand-made works: distances in true metres, periods to the day,
moratoria, and conflicts kept current by each write without a rescan."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import mapbox_vector_tile
import pytest
from pyproj import Geod
from sqlalchemy import Connection, Engine, text

from geo.conflicts import store, workflow
from geo.conflicts.rules import Rules
from geo.filters import ProjectFilter
from geo.project_writes import Actor, WriteError, update_project, version_of
from geo.settings import Settings
from geo.transaction import run
from layers import LAYERS
from layers.render import features, tile
from tests.conftest import TEST_DB, seoul_agencies, signed_in
from tests.test_map_tables import tile_of

GEOD = Geod(ellps="WGS84")
PEOPLE = [
    ("water", "official", "TEST-WATER"),
    ("planner", "planner"),
    ("parks", "official", "SMG-PARKS"),
    ("admin", "admin"),
    ("builder", "contractor", None, "(주)시험건설"),
]
# A street in Gangnam running east for about 90 m
STREET = ((127.0300, 37.5000), (127.0310, 37.5000))
START, END = date(2027, 3, 1), date(2027, 6, 30)


@pytest.fixture(scope="module")
def db(settings: Settings) -> Iterator[Engine]:
    for engine in seoul_agencies(settings, f"{TEST_DB}_conflicts"):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO agencies (code, name) VALUES "
                              "('SMG-PARKS', '{\"en\": \"Parks\"}')"))  # fmt: skip
            for who, (number, _) in signed_in(conn, PEOPLE).items():
                ACTORS[who] = Actor(number, *next(p[1:] for p in PEOPLE if p[0] == who))
        yield engine


ACTORS: dict[str, Actor] = {}


# The clusters of the conflicts layer counted afresh, each zoom on its own (map_cells_of), to
# hold against those the trigger keeps (migration 0021)
CELLS_AFRESH = """
    WITH p AS (
        SELECT c.kind, round(ST_X(q) * 100)::bigint AS x, round(ST_Y(q) * 100)::bigint AS y
        FROM conflicts c CROSS JOIN LATERAL ST_Transform(c.at, 3857) q
        WHERE (c.holds OR c.status = 'coordinated') AND c.status <> 'dismissed')
    SELECT m.zoom, m.tx, m.ty, m.cell, p.kind, count(*), sum(p.x), sum(p.y)
    FROM p CROSS JOIN LATERAL map_cells_of(p.x, p.y) m GROUP BY 1, 2, 3, 4, 5"""
CELLS_KEPT = "SELECT zoom, x, y, cell, kind, conflicts, sum_x, sum_y FROM map_conflict_cells"


def clusters_kept_and_afresh(conn: Connection) -> tuple[set[tuple[Any, ...]], ...]:
    kept, afresh = (
        set(map(tuple, conn.execute(text(q)).all())) for q in (CELLS_KEPT, CELLS_AFRESH)
    )
    return kept, afresh


@pytest.fixture
def conn(db: Engine) -> Iterator[Connection]:
    """A connection on a city without works (each test adds its own); each helper commits.
    Whatever the test did (scans, edits, steps, zones), the conflicts layer's stored clusters
    equal a fresh count afterwards, and again once everything is deleted."""
    with db.begin() as c:
        c.execute(text("DELETE FROM conflicts; DELETE FROM moratoria; DELETE FROM projects"))
        assert c.execute(text(CELLS_KEPT)).all() == []
    with db.connect() as c:
        yield c
        c.rollback()
        kept, afresh = clusters_kept_and_afresh(c)
        assert kept == afresh


def moved(points: tuple[tuple[float, float], ...], azimuth: float, metres: float) -> list:
    """``points`` moved ``metres`` along ``azimuth`` (degrees from north) on the ellipsoid."""
    out = []
    for lon, lat in points:
        x, y, _ = GEOD.fwd(lon, lat, azimuth, metres)
        out.append((x, y))
    return out


def line(points: Any) -> str:
    return "LINESTRING(" + ", ".join(f"{x:.9f} {y:.9f}" for x, y in points) + ")"


def work(
    conn: Connection,
    code: str,
    wkt: str,
    start: date = START,
    end: date = END,
    *,
    category: str = "water",
    status: str = "implementation",
    actual_end: date | None = None,
    agency: str = "TEST-WATER",
) -> int:
    """A published work; its id."""
    number = int(
        conn.execute(
            text(
                "INSERT INTO projects (code, title, category, project_type, status, agency_code, "
                "currency, budget, planned_start, planned_end, actual_start, actual_end, geom) "
                "VALUES (:code, :code, :category, 'construction', :status, :agency, 'KRW', 1000, "
                ":start, :end, :actual_start, :actual_end, ST_GeomFromText(:wkt, 4326)) "
                "RETURNING id"
            ),
            {"code": code, "category": category, "status": status, "agency": agency,
             "start": start, "end": end, "actual_start": start if actual_end else None,
             "actual_end": actual_end, "wkt": wkt},
        ).scalar_one()
    )  # fmt: skip
    conn.commit()
    return number


def scan(conn: Connection, rules: Rules | None = None) -> store.Merged:
    merged = store.scan(conn, rules or Rules())
    conn.commit()
    return merged


def write(conn: Connection, steps: Any) -> Any:
    """Run a write's steps as one transaction: committed, or rolled back when refused."""
    if conn.in_transaction():
        conn.rollback()
    with conn.begin():
        return run(conn, steps)


def found(conn: Connection) -> dict[tuple[str, ...], dict[str, Any]]:
    """The stored conflicts by (kind, first code, other code or zone id)."""
    rows = conn.execute(
        text(
            "SELECT c.kind, a.code AS a, coalesce(b.code, 'zone ' || c.zone_id) AS b, "
            "c.distance_m, c.overlap_days, c.holds, c.status FROM conflicts c "
            "JOIN projects a ON a.id = c.a_id LEFT JOIN projects b ON b.id = c.b_id"
        )
    ).mappings()
    out = {(r["kind"], r["a"], r["b"]): dict(r) for r in rows}
    conn.rollback()
    return out


def test_lines_15_m_apart_meet_and_lines_25_m_apart_do_not(conn: Connection) -> None:
    work(conn, "A", line(STREET))
    work(conn, "NEAR", line(moved(STREET, 0, 15)))
    work(conn, "FAR", line(moved(STREET, 180, 25)))
    scan(conn)
    conflicts = found(conn)
    assert set(conflicts) == {("clash", "A", "NEAR")}
    assert conflicts["clash", "A", "NEAR"]["distance_m"] == pytest.approx(15.0, abs=0.01)


def test_crossing_lines_a_point_on_a_line_and_touching_polygons_meet(conn: Connection) -> None:
    (x0, y0), (x1, _) = STREET
    work(conn, "STREET", line(STREET))
    work(conn, "CROSSING", f"LINESTRING({x0 + 0.0005} {y0 - 0.0005}, {x0 + 0.0005} {y0 + 0.0005})")
    work(conn, "VALVE", f"POINT({x0 + 0.0002} {y0})")
    left = f"POLYGON(({x1 + 0.001} {y0}, {x1 + 0.002} {y0}, {x1 + 0.002} {y0 + 0.001}, " \
           f"{x1 + 0.001} {y0 + 0.001}, {x1 + 0.001} {y0}))"  # fmt: skip
    right = f"POLYGON(({x1 + 0.002} {y0}, {x1 + 0.003} {y0}, {x1 + 0.003} {y0 + 0.001}, " \
            f"{x1 + 0.002} {y0 + 0.001}, {x1 + 0.002} {y0}))"  # fmt: skip
    work(conn, "SITE-L", left, category="park")
    work(conn, "SITE-R", right, category="park")
    scan(conn)
    conflicts = found(conn)
    pairs = {("clash", "STREET", "CROSSING"), ("clash", "STREET", "VALVE"),
             ("clash", "SITE-L", "SITE-R")}  # fmt: skip
    assert set(conflicts) == pairs  # the valve is 26 m along the street from the crossing
    # on the spheroid a point on a straight line of the map is a hair (< 1 mm) beside its arc
    assert all(conflicts[pair]["distance_m"] < 0.001 for pair in pairs)


def test_distances_are_true_metres_far_from_the_equator(conn: Connection) -> None:
    """At 64° N a degree of longitude is 49 km, not 111: works 15 m east and 25 m west of a
    street running north are 15 m and 25 m away."""
    north = ((-21.9400, 64.1400), (-21.9400, 64.1410))
    work(conn, "REYKJAVIK", line(north))
    work(conn, "EAST-15", line(moved(north, 90, 15)))
    work(conn, "WEST-25", line(moved(north, 270, 25)))
    scan(conn)
    conflicts = found(conn)
    assert set(conflicts) == {("clash", "REYKJAVIK", "EAST-15")}
    assert conflicts["clash", "REYKJAVIK", "EAST-15"]["distance_m"] == pytest.approx(15, abs=0.01)


@pytest.mark.parametrize(
    ("later_start", "expected"),
    [
        (END, ("clash", 1)),  # overlap by one day: the last of one is the first of the other
        (END + timedelta(days=1), ("dig_once", 0)),  # abutting: no day between them
        (END + timedelta(days=180), ("dig_once", -179)),  # 179 days between: within the window
        (END + timedelta(days=181), None),  # 180 days between: not fewer than the window
    ],
    ids=["overlap-1-day", "abut", "gap-179", "gap-180"],
)
def test_periods_overlap_abut_or_stand_apart(
    conn: Connection, later_start: date, expected: tuple[str, int] | None
) -> None:
    work(conn, "FIRST", line(STREET))
    work(conn, "SECOND", line(moved(STREET, 0, 5)), later_start, later_start + timedelta(days=30))
    scan(conn)
    conflicts = found(conn)
    if expected is None:
        assert conflicts == {}
    else:
        kind, overlap = expected
        assert list(conflicts) == [(kind, "FIRST", "SECOND")]
        assert conflicts[kind, "FIRST", "SECOND"]["overlap_days"] == overlap


def test_excavating_a_protected_street_violates_its_moratorium(conn: Connection) -> None:
    """A road resurfaced in 2026 protects its street for three years: a water main dug there
    in 2027 violates it, a park laid out there does not (a park does not excavate)."""
    work(conn, "RESURFACED", line(STREET), date(2026, 3, 1), date(2026, 6, 30),
         category="road", status="completion", actual_end=date(2026, 6, 30))  # fmt: skip
    work(conn, "MAIN", line(moved(STREET, 0, 3)), date(2027, 9, 1), date(2027, 10, 31))
    work(conn, "PARK", line(moved(STREET, 180, 3)), date(2027, 9, 1), date(2027, 10, 31),
         category="park")  # fmt: skip
    scan(conn)
    conflicts = found(conn)
    assert ("moratorium", "MAIN", "RESURFACED") in conflicts
    assert not [k for k in conflicts if k[0] == "moratorium" and "PARK" in k]
    assert conflicts["moratorium", "MAIN", "RESURFACED"]["overlap_days"] == 61


def test_a_zone_drawn_by_hand_is_checked_at_once(conn: Connection) -> None:
    main = work(conn, "MAIN", line(moved(STREET, 0, 3)), date(2027, 9, 1), date(2027, 10, 31))
    scan(conn)
    assert found(conn) == {}
    zone = write(conn, workflow.draw_zone(ACTORS["planner"], {
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in STREET]},
        "starts": "2027-01-01", "ends": "2029-12-31", "reason": "new pavement"}))  # fmt: skip
    assert set(found(conn)) == {("moratorium", "MAIN", f"zone {zone}")}
    assert main


def _version(conn: Connection, code: str) -> str:
    row = conn.execute(
        text("SELECT id, updated_at FROM projects WHERE code = :c"), {"c": code}
    ).one()
    conn.rollback()
    return version_of(row[0], row[1])


def test_an_edit_moves_a_conflict_without_a_rescan(conn: Connection) -> None:
    work(conn, "STAYS", line(STREET))
    work(conn, "MOVES", line(moved(STREET, 0, 10)))
    scan(conn)
    assert set(found(conn)) == {("clash", "STAYS", "MOVES")}

    def edit(points: Any) -> None:
        geometry = {"type": "LineString", "coordinates": [list(p) for p in points]}
        write(conn, update_project(ACTORS["water"], "MOVES", {"geometry": geometry},
                                   reason=None, if_version=_version(conn, "MOVES")))  # fmt: skip

    edit(moved(STREET, 0, 200))
    assert found(conn) == {}
    edit(moved(STREET, 0, 12))
    (only,) = found(conn).values()
    assert only["distance_m"] == pytest.approx(12, abs=0.01)


def test_a_conflict_worked_on_is_kept_when_it_no_longer_holds(conn: Connection) -> None:
    stays = work(conn, "STAYS", line(STREET))
    moves = work(conn, "MOVES", line(moved(STREET, 0, 10)))
    scan(conn)
    conflict = conn.execute(text("SELECT id FROM conflicts")).scalar_one()
    write(conn, workflow.step(ACTORS["planner"], conflict, {"status": "acknowledged"}))
    conn.execute(text("UPDATE projects SET geom = ST_Translate(geom, 0, 0.01) WHERE id = :i"),
                 {"i": moves})  # fmt: skip
    query = store.recheck([moves])
    conn.exec_driver_sql(query.sql, query.params)
    conn.commit()
    (kept,) = found(conn).values()
    assert (kept["status"], kept["holds"]) == ("acknowledged", False)
    assert stays


def test_the_one_work_check_finds_what_saving_it_would(conn: Connection) -> None:
    from geo.conflicts import find

    work(conn, "THERE", line(STREET))
    given = conn.execute(
        text("SELECT encode(ST_AsEWKB(ST_GeomFromText(:w, 4326)), 'hex')"),
        {"w": line(moved(STREET, 0, 8))},
    ).scalar_one()
    query = find.unsaved(Rules().values(), given, "sewer", START, END)
    rows = conn.exec_driver_sql(query.sql, query.params).mappings().all()
    assert [(r["kind"], r["a_id"]) for r in rows] == [("clash", None)]
    assert rows[0]["distance_m"] == pytest.approx(8, abs=0.01)


def test_workflow_steps_and_who_may_take_them(conn: Connection) -> None:
    work(conn, "ROADWORK", line(STREET), category="road", agency="TEST-ROADS")
    work(conn, "WATERWORK", line(moved(STREET, 0, 5)))
    scan(conn)
    conflict = conn.execute(text("SELECT id FROM conflicts")).scalar_one()
    conn.rollback()
    PLANNER, WATER = ACTORS["planner"], ACTORS["water"]

    def step(actor: Actor, **values: Any) -> Any:
        return write(conn, workflow.step(actor, conflict, values))

    def refused(actor: Actor, http: int, **values: Any) -> list[str]:
        before = conn.execute(text("SELECT status, note FROM conflicts")).one()
        conn.rollback()
        with pytest.raises(WriteError) as caught:
            step(actor, **values)
        assert caught.value.status == http
        assert conn.execute(text("SELECT status, note FROM conflicts")).one() == before
        conn.rollback()
        return [name for name, _ in caught.value.errors]

    for outsider in ("parks", "admin", "builder"):
        assert refused(ACTORS[outsider], 403, status="acknowledged") == []
    assert refused(PLANNER, 409, status="coordinated", note="x", days_saved=1,
                   money_saved=1) == ["status"]  # fmt: skip
    assert step(WATER, status="acknowledged", note="we will talk").status == "acknowledged"
    assert refused(PLANNER, 422, status="coordinated", note="one trench") == [
        "days_saved", "money_saved"]  # fmt: skip
    assert refused(PLANNER, 422, status="dismissed") == ["note"]
    assert refused(PLANNER, 422, status="coordinated", note="x", days_saved=-1,
                   money_saved="12") == ["days_saved"]  # fmt: skip
    step(PLANNER, status="coordinated", note="one trench for both", days_saved=21,
         money_saved="35000000")  # fmt: skip
    assert refused(PLANNER, 409, status="open") == ["status"]
    entry = conn.execute(
        text("SELECT content FROM changes WHERE action = 'conflict' ORDER BY seq DESC LIMIT 1")
    ).scalar_one()
    conn.rollback()
    assert '"status":["acknowledged","coordinated"]' in entry
    assert '"days_saved":[null,21]' in entry and '"money_saved":[null,"35000000"]' in entry
    assert "one trench" not in entry and workflow.NOTED in entry


def test_a_scan_and_a_write_wait_for_each_other_without_deadlock(
    db: Engine, conn: Connection
) -> None:
    """A write that has changed its project holds the data version; a scan started then waits
    for it (and not the other way round, which would deadlock the two)."""
    stays = work(conn, "STAYS", line(STREET))
    moves = work(conn, "MOVES", line(moved(STREET, 0, 200)))
    outcome: dict[str, object] = {}

    def scanning() -> None:
        with db.begin() as other:
            outcome["scan"] = store.scan(other, Rules())

    with db.begin() as writing:
        writing.execute(
            text("UPDATE projects SET geom = ST_GeomFromText(:w, 4326) WHERE id = :i"),
            {"w": line(moved(STREET, 0, 10)), "i": moves},
        )
        thread = threading.Thread(target=scanning)
        thread.start()
        thread.join(timeout=1.5)  # the scan is waiting now (past the deadlock check's second)
        query = store.recheck([moves])
        writing.exec_driver_sql(query.sql, query.params)
    thread.join(timeout=30)
    assert isinstance(outcome.get("scan"), store.Merged)
    assert set(found(conn)) == {("clash", "STAYS", "MOVES")}
    assert stays


def test_a_recheck_of_both_works_of_a_pair_keeps_one_conflict(conn: Connection) -> None:
    """Both works of a pair re-checked at once (an import of both) find the pair from either
    side; it is one conflict, met at the same place whichever side found it (these two lines,
    11 m apart, meet at points a rounding apart when measured from one or the other)."""
    one = work(conn, "ONE", line([(127.000725615, 37.500816799), (127.000562361, 37.500077754)]))
    other = work(conn, "OTHER", line([(127.000498835, 37.500377093), (127.00036697, 37.500786736)]))
    query = store.recheck([one, other])
    conn.exec_driver_sql(query.sql, query.params)
    conn.commit()
    assert set(found(conn)) == {("clash", "ONE", "OTHER")}


def test_the_layers_clusters_follow_steps_moves_and_dismissals(conn: Connection) -> None:
    """The conflicts layer's stored clusters count what it shows: a coordinated conflict stays
    after its works part, an acknowledged one that no longer holds goes, a dismissed one goes;
    after each change they equal a fresh count."""
    PLANNER = ACTORS["planner"]
    pairs = {}
    for n, metres in enumerate((0, 300, 600)):
        street = moved(STREET, 180, metres)
        pairs[n] = (work(conn, f"A{n}", line(street)),
                    work(conn, f"B{n}", line(moved(street, 0, 8))))  # fmt: skip
    scan(conn)

    def shown() -> int:
        (kept, afresh) = clusters_kept_and_afresh(conn)
        conn.rollback()
        assert kept == afresh
        return sum(row[5] for row in kept if row[0] == 15)

    def conflict_of(n: int) -> int:
        found = conn.execute(text("SELECT id FROM conflicts WHERE a_id = :a"), {"a": pairs[n][0]})
        number = int(found.scalar_one())
        conn.rollback()
        return number

    def part(n: int) -> None:
        conn.execute(text("UPDATE projects SET geom = ST_Translate(geom, 0, 0.01) WHERE id = :i"),
                     {"i": pairs[n][1]})  # fmt: skip
        query = store.recheck([pairs[n][1]])
        conn.exec_driver_sql(query.sql, query.params)
        conn.commit()

    assert shown() == 3
    coordinated, acknowledged, dismissed = (conflict_of(n) for n in range(3))
    for conflict in (coordinated, acknowledged, dismissed):
        write(conn, workflow.step(PLANNER, conflict, {"status": "acknowledged"}))
    coordination = {"status": "coordinated", "note": "one trench", "days_saved": 5,
                    "money_saved": "1"}  # fmt: skip
    write(conn, workflow.step(PLANNER, coordinated, coordination))
    part(0)
    assert shown() == 3  # coordinated, kept on the map though its works parted
    part(1)
    assert shown() == 2  # acknowledged, no longer holding: off the map
    write(conn, workflow.step(PLANNER, dismissed, {"status": "dismissed", "note": "no works"}))
    assert shown() == 1


def test_a_dense_tile_or_view_of_conflicts_draws_the_stored_clusters(conn: Connection) -> None:
    """Past the layer's threshold a tile (or view) of the conflicts layer draws the clusters
    the trigger keeps: their counts add up to the conflicts shown in it; below, each conflict
    is a feature of its own."""
    for n in range(4):
        street = moved(STREET, 180, 40 * n)
        work(conn, f"A{n}", line(street))
        work(conn, f"B{n}", line(moved(street, 0, 8)))
    scan(conn)
    ids = set(conn.execute(text("SELECT id FROM conflicts")).scalars())
    conn.rollback()
    assert len(ids) == 4
    z = 14
    x, y = tile_of(*STREET[0], z)
    layer = LAYERS["conflicts"]

    def drawn(cluster_above: int) -> list[dict[str, Any]]:
        query = tile(replace(layer, cluster_above=cluster_above), z, x, y, ProjectFilter())
        assert "map_conflict_cells" in query.sql or cluster_above > len(ids)
        data = conn.exec_driver_sql(query.sql, query.params).scalar()
        conn.rollback()
        return list(mapbox_vector_tile.decode(bytes(data))["conflicts"]["features"])

    clusters = drawn(cluster_above=1)
    assert sum(c["properties"]["count"] for c in clusters) == len(ids)
    assert {c["properties"]["kind"] for c in clusters} == {"clash"}
    assert {f["id"] for f in drawn(cluster_above=100)} == ids

    west, south = STREET[0][0] - 0.01, STREET[0][1] - 0.01
    view = features(replace(layer, cluster_above=1), ProjectFilter(),
                    (west, south, west + 0.02, south + 0.02), 100)  # fmt: skip
    assert "map_conflict_cells" in view.sql
    body = json.loads(conn.exec_driver_sql(view.sql, view.params).scalar_one())
    conn.rollback()
    assert sum(f["properties"]["count"] for f in body["features"]) == len(ids)
    assert all(f["properties"]["cluster"] for f in body["features"])


def test_conflicts_truncated_take_their_clusters_with_them(conn: Connection) -> None:
    work(conn, "ONE", line(STREET))
    work(conn, "TWO", line(moved(STREET, 0, 8)))
    scan(conn)
    assert conn.execute(text(CELLS_KEPT)).all() != []
    conn.execute(text("TRUNCATE conflicts"))
    conn.commit()
    assert conn.execute(text(CELLS_KEPT)).all() == []
