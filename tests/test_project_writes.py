"""Officials' writes on a scratch copy of the test city: who may write, versions, validation,
codes under concurrency, and the change-log entries each write leaves (or does not)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from geo import changelog
from geo.project_writes import (
    WITHHELD,
    Actor,
    WriteError,
    create_project,
    update_project,
    version_of,
    withdraw_project,
)
from geo.settings import Settings
from geo.store.database import engine_for
from geo.transaction import run
from tests.conftest import TEST_DB, seoul_agencies

ROADS = Actor(1, "official", agency="TEST-ROADS")
WATER = Actor(2, "official", agency="TEST-WATER")
ADMIN = Actor(3, "admin")
CONTRACTOR = Actor(4, "contractor", contractor="(주)시험건설")
PLANNER = Actor(5, "planner")
CREATORS = 16
POINT = {"type": "Point", "coordinates": [126.97797, 37.56654]}  # Seoul City Hall, Jung-gu


def values(**changes: Any) -> dict[str, Any]:
    """A valid new project of TEST-ROADS, with ``changes``."""
    return {
        "title": "시청 앞 보도 정비",
        "category": "road",
        "project_type": "rehabilitation",
        "status": "preparation",
        "budget": "120000000",
        "planned_start": "2027-03-01",
        "planned_end": "2027-09-30",
        "officer_name": "홍길동",
        "geometry": POINT,
        **changes,
    }


@pytest.fixture(scope="module")
def db(settings: Settings) -> Iterator[Engine]:
    """The Seoul test city with its agencies and no projects, for this module's writes."""
    yield from seoul_agencies(settings, f"{TEST_DB}_writes")


def create(db: Engine, actor: Actor = ROADS, **changes: Any) -> str:
    with db.begin() as conn:
        return run(conn, create_project(actor, values(**changes))).code


def row(db: Engine, code: str) -> dict[str, Any]:
    with db.connect() as conn:
        found = (
            conn.execute(
                text("SELECT *, ST_AsText(geom) AS wkt FROM projects WHERE code = :c"),
                {"c": code},
            )
            .mappings()
            .one()
        )
        return dict(found)


def version(db: Engine, code: str) -> str:
    found = row(db, code)
    return version_of(found["id"], found["updated_at"])


def entries(db: Engine, code: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        contents = conn.execute(
            text("SELECT content FROM changes WHERE project_code = :c ORDER BY seq"), {"c": code}
        ).scalars()
        return [json.loads(c) for c in contents]


def log_state(db: Engine) -> tuple[int, int]:
    with db.connect() as conn:
        return changelog.length(conn), conn.execute(
            text("SELECT count(*) FROM changes")
        ).scalar_one()


def refused(call: Any) -> WriteError:
    with pytest.raises(WriteError) as error:
        call()
    return error.value


def test_a_draft_is_created_with_its_code_district_and_currency(db: Engine) -> None:
    before = log_state(db)
    with db.begin() as conn:
        created = run(conn, create_project(ROADS, values()))
    stored = row(db, created.code)
    assert created.code.startswith("SEOUL-2027-")
    assert len(created.code) == len("SEOUL-2027-000001")
    assert created.version == version_of(stored["id"], stored["updated_at"])
    assert (stored["agency_code"], stored["district_code"], stored["currency"]) == (
        "TEST-ROADS",
        "11140",
        "KRW",
    )
    assert (stored["published"], stored["budget"], stored["spent"]) == (
        False,
        Decimal("120000000.00"),
        Decimal("0.00"),
    )
    assert stored["wkt"] == "POINT(126.97797 37.56654)"
    assert log_state(db) == before  # a draft is not logged


def test_codes_follow_the_planned_start_year(db: Engine) -> None:
    first = create(db, planned_start="2031-01-10", planned_end="2031-02-01")
    second = create(db, WATER, planned_start="2031-05-10", planned_end="2031-06-01")
    assert (first, second) == ("SEOUL-2031-000001", "SEOUL-2031-000002")


def test_creating_a_published_project_logs_every_field(db: Engine) -> None:
    code = create(db, published=True, contract_value="110000000.5")
    [entry] = entries(db, code)
    assert (entry["action"], entry["agency"], entry["role"], entry["reason"]) == (
        "create",
        "TEST-ROADS",
        "official",
        None,
    )
    fields = entry["fields"]
    assert fields["title"] == [None, "시청 앞 보도 정비"]
    assert fields["budget"] == [None, "120000000"]
    assert fields["contract_value"] == [None, "110000000.50"]
    assert fields["planned_end"] == [None, "2027-09-30"]
    assert fields["district"] == [None, "11140"]
    assert fields["currency"] == [None, "KRW"]
    assert fields["geometry"] == [None, POINT]
    assert fields["officer_name"] == [None, WITHHELD]  # never a person's name
    assert "홍길동" not in json.dumps(entry, ensure_ascii=False)
    assert set(fields) >= {"status", "category", "agency", "spent", "progress_actual"}


def test_only_officials_of_the_agency_and_admins_write(db: Engine) -> None:
    for actor in (CONTRACTOR, PLANNER):
        with db.begin() as conn:
            error = refused(lambda a=actor: run(conn, create_project(a, values())))
        assert (error.status, error.detail) == (
            403,
            f"A {actor.role} does not write projects; officials and admins do.",
        )
    with db.begin() as conn:
        error = refused(lambda: run(conn, create_project(WATER, values(agency="TEST-ROADS"))))
    assert (error.status, error.detail) == (
        403,
        "An official writes only the projects of its own agency.",
    )
    code = create(db)
    for actor in (WATER, CONTRACTOR, PLANNER):
        with db.begin() as conn:
            error = refused(
                lambda a=actor: run(
                    conn,
                    update_project(
                        a, code, {"title": "x"}, reason=None, if_version=version(db, code)
                    ),
                )
            )
        assert error.status == 403
        with db.begin() as conn:
            assert refused(lambda a=actor: run(conn, withdraw_project(a, code, "x"))).status == 403
    with db.begin() as conn:
        run(
            conn,
            update_project(
                ADMIN, code, {"title": "관리자 수정"}, reason=None, if_version=version(db, code)
            ),
        )
    assert row(db, code)["title"] == "관리자 수정"
    with db.begin() as conn:
        error = refused(lambda: run(conn, create_project(ADMIN, values())))
    assert (error.status, error.errors) == (422, [("agency", "it is required")])
    assert create(db, ADMIN, agency="TEST-WATER").startswith("SEOUL-2027-")


def test_an_unknown_project_is_404(db: Engine) -> None:
    with db.begin() as conn:
        error = refused(
            lambda: run(
                conn, update_project(ROADS, "SEOUL-1999-000001", {}, reason=None, if_version="1-1")
            )
        )
    assert (error.status, error.detail) == (404, "There is no project 'SEOUL-1999-000001'.")
    with db.begin() as conn:
        assert refused(lambda: run(conn, withdraw_project(ROADS, "NOPE", "x"))).status == 404


def test_a_stale_version_is_412_and_changes_nothing(db: Engine) -> None:
    code = create(db, published=True)
    stale = version(db, code)
    with db.begin() as conn:
        run(conn, update_project(ROADS, code, {"title": "첫 수정"}, reason=None, if_version=stale))
    kept, log = row(db, code), log_state(db)
    with db.begin() as conn:
        error = refused(
            lambda: run(
                conn,
                update_project(ROADS, code, {"title": "늦은 수정"}, reason=None, if_version=stale),
            )
        )
    assert (error.status, error.detail) == (
        412,
        f"Project {code} has changed since version {stale}.",
    )
    assert row(db, code) == kept
    assert log_state(db) == log
    with db.begin() as conn:
        assert (
            refused(
                lambda: run(conn, withdraw_project(ROADS, code, "중단", if_version=stale))
            ).status
            == 412
        )
    assert row(db, code) == kept


def test_every_field_problem_is_named_at_once(db: Engine) -> None:
    bad = values(
        title="",
        category="pipes",
        status="finished",
        budget="-5",
        contract_value="12345678901234567.00",
        spent="1.005",
        progress_actual=101,
        planned_start="2027-09-01",
        planned_end="2027-03-01",
        published="yes",
        address="가" * 301,
        code="MINE-1",
        colour="red",
        geometry="POINT(126.5 37.5)",
    )
    with db.begin() as conn:
        error = refused(lambda: run(conn, create_project(ROADS, bad)))
    assert error.status == 422
    reasons = dict(error.errors)
    assert sorted(f for f, _ in error.errors) == sorted(
        [
            "title",
            "category",
            "status",
            "budget",
            "contract_value",
            "spent",
            "progress_actual",
            "planned_end",
            "published",
            "address",
            "code",
            "colour",
            "geometry",
        ]
    )
    assert reasons["title"] == "String should have at least 1 character"
    assert reasons["category"].startswith("unknown category; valid: road, water, sewer, ")
    assert reasons["status"].startswith("Input should be 'identification', 'preparation'")
    assert reasons["budget"] == "Input should be greater than or equal to 0"
    assert reasons["contract_value"] == (
        "Decimal input should have no more than 16 digits before the decimal point"
    )
    assert reasons["spent"] == "Decimal input should have no more than 2 decimal places"
    assert reasons["progress_actual"] == "Input should be less than or equal to 100"
    assert reasons["planned_end"] == "it is before the planned start (2027-09-01)"
    assert reasons["published"] == "Input should be a valid boolean"
    assert reasons["address"] == "String should have at most 300 characters"
    assert reasons["code"] == "it is assigned by the portal, not given"
    assert reasons["colour"] == "it is not a field of a project"
    assert reasons["geometry"].startswith("The geometry lies outside the city: at lon 126.5")
    with db.begin() as conn:
        error = refused(lambda: run(conn, create_project(ROADS, {"title": "제목만"})))
    missing = "category project_type status budget planned_start planned_end geometry"
    assert error.errors == [(name, "it is required") for name in missing.split()]
    with db.begin() as conn:
        error = refused(lambda: run(conn, create_project(ROADS, values(), crs="EPSG:1")))
    assert [f for f, _ in error.errors] == ["crs"]


def test_a_failed_write_leaves_no_row_and_no_entry(db: Engine) -> None:
    with db.connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM projects")).scalar_one()
    log = log_state(db)
    with pytest.raises(WriteError), db.begin() as conn:
        run(conn, create_project(ROADS, values(published=True, actual_end="2027-05-01")))
    with pytest.raises(RuntimeError), db.begin() as conn:
        run(conn, create_project(ROADS, values(published=True)))  # logged, then the caller fails
        assert changelog.length(conn) == log[0] + 1
        raise RuntimeError("the response could not be sent")
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar_one() == projects
        assert changelog.verify_stored(conn) is None
    assert log_state(db) == log


def test_money_and_dates_of_a_public_project_need_a_reason(db: Engine) -> None:
    code = create(db, published=True)
    for change in ({"budget": 130_000_000}, {"planned_end": "2027-12-31"}):
        with db.begin() as conn:
            error = refused(
                lambda c=change: run(
                    conn, update_project(ROADS, code, c, reason="  ", if_version=version(db, code))
                )
            )
        assert (error.status, error.errors) == (
            422,
            [("reason", f"a reason is required for a change of {next(iter(change))}")],
        )
    with db.begin() as conn:  # the same value again is no change
        run(
            conn,
            update_project(
                ROADS, code, {"budget": "120000000.00"}, reason=None, if_version=version(db, code)
            ),
        )
    draft = create(db)
    with db.begin() as conn:  # a draft's figures are not public yet
        run(
            conn,
            update_project(ROADS, draft, {"budget": 1}, reason=None, if_version=version(db, draft)),
        )
    assert row(db, draft)["budget"] == Decimal("1.00")


def test_an_edit_logs_the_changed_fields_and_the_reason(db: Engine) -> None:
    code = create(db, published=True)
    old = version(db, code)
    with db.begin() as conn:
        updated = run(
            conn,
            update_project(
                ROADS,
                code,
                {
                    "budget": "150000000",
                    "planned_end": "2027-12-31",
                    "title": "시청 앞 보도 정비",
                    "status": "implementation",
                    "officer_name": "김철수",
                    "geometry": "POINT(126.978 37.5666)",
                },
                reason="설계 변경",
                if_version=old,
            ),
        )
    assert updated.version != old
    assert updated.version == version(db, code)
    assert updated.changed == ("budget", "geometry", "officer_name", "planned_end", "status")
    create_entry, edit = entries(db, code)
    assert create_entry["action"] == "create"
    assert (edit["action"], edit["reason"], edit["agency"], edit["role"]) == (
        "edit",
        "설계 변경",
        "TEST-ROADS",
        "official",
    )
    assert edit["fields"] == {
        "budget": ["120000000", "150000000"],
        "planned_end": ["2027-09-30", "2027-12-31"],
        "status": ["preparation", "implementation"],
        "officer_name": [WITHHELD, WITHHELD],
        "geometry": [POINT, {"type": "Point", "coordinates": [126.978, 37.5666]}],
    }
    assert row(db, code)["updated_at"] > row(db, code)["created_at"]


def test_publishing_a_draft_logs_the_baseline(db: Engine) -> None:
    code = create(db)
    with db.begin() as conn:
        run(
            conn,
            update_project(
                ROADS,
                code,
                {"published": True, "budget": 99},
                reason=None,
                if_version=version(db, code),
            ),
        )
    [entry] = entries(db, code)
    assert (entry["action"], entry["agency"], entry["role"]) == (
        "publish",
        "TEST-ROADS",
        "official",
    )
    assert entry["fields"]["budget"] == [None, "99"]
    assert entry["fields"]["title"] == [None, "시청 앞 보도 정비"]
    assert entry["fields"]["geometry"] == [None, POINT]
    with db.begin() as conn:
        error = refused(
            lambda: run(
                conn,
                update_project(
                    ROADS, code, {"published": False}, reason=None, if_version=version(db, code)
                ),
            )
        )
    assert error.errors == [
        ("published", "a published project is not taken back to draft; withdraw it instead")
    ]


def test_a_withdrawn_project_is_kept_with_its_reason(db: Engine) -> None:
    code = create(db, published=True)
    with db.begin() as conn:
        error = refused(lambda: run(conn, withdraw_project(ROADS, code, "")))
    assert error.errors == [("reason", "a withdrawal needs its reason")]
    with db.begin() as conn:
        withdrawn = run(conn, withdraw_project(ROADS, code, "예산 미확보"))
    stored = row(db, code)
    assert (stored["withdrawn_reason"], stored["published"]) == ("예산 미확보", True)
    assert stored["withdrawn_at"] is not None
    assert withdrawn.version == version(db, code)
    entry = entries(db, code)[-1]
    assert (entry["action"], entry["fields"], entry["reason"], entry["agency"]) == (
        "withdraw",
        {},
        "예산 미확보",
        "TEST-ROADS",
    )
    with db.begin() as conn:
        assert refused(lambda: run(conn, withdraw_project(ROADS, code, "again"))).status == 409
        error = refused(
            lambda: run(
                conn,
                update_project(
                    ROADS, code, {"title": "x"}, reason=None, if_version=withdrawn.version
                ),
            )
        )
    assert error.status == 409


def test_concurrent_creators_get_distinct_codes_and_one_chain(db: Engine) -> None:
    writers = engine_for(db.url.render_as_string(hide_password=False), pool_size=CREATORS)
    start = threading.Barrier(CREATORS)

    def one(n: int) -> str:
        actor, agency = (ROADS, "TEST-ROADS") if n % 2 else (WATER, "TEST-WATER")
        with writers.begin() as conn:
            conn.execute(text("SELECT 1"))  # each holds its connection and transaction
            start.wait(timeout=30)
            return run(
                conn,
                create_project(
                    actor,
                    values(
                        published=True,
                        planned_start="2029-04-01",
                        planned_end="2029-05-01",
                        agency=agency,
                    ),
                ),
            ).code

    with ThreadPoolExecutor(CREATORS) as pool:
        codes = list(pool.map(one, range(CREATORS)))
    writers.dispose()
    assert sorted(codes) == [f"SEOUL-2029-{n:06d}" for n in range(1, CREATORS + 1)]
    with db.connect() as conn:
        assert changelog.verify_stored(conn) is None
        logged = conn.execute(
            text("SELECT project_code FROM changes WHERE project_code LIKE 'SEOUL-2029-%'")
        ).scalars()
        assert sorted(logged) == sorted(codes)


def test_the_version_changes_with_every_write(db: Engine) -> None:
    code = create(db)
    first = version(db, code)
    with db.begin() as conn:
        second = run(
            conn, update_project(ROADS, code, {"title": "새 제목"}, reason=None, if_version=first)
        ).version
    assert second != first
    with db.begin() as conn:
        same = run(
            conn, update_project(ROADS, code, {"title": "새 제목"}, reason=None, if_version=second)
        )
    assert (same.version, same.changed) == (second, ())
    assert isinstance(row(db, code)["planned_start"], date)


def test_the_writes_keep_the_callers_transaction(db: Engine) -> None:
    with db.begin() as conn:
        one = run(conn, create_project(ROADS, values(published=True))).code
        two = run(conn, create_project(ROADS, values(published=True))).code
        assert _in(conn, one) and _in(conn, two)
    assert len({one, two}) == 2


def _in(conn: Connection, code: str) -> bool:
    return bool(
        conn.execute(
            text("SELECT EXISTS (SELECT FROM projects WHERE code = :c)"), {"c": code}
        ).scalar_one()
    )
