"""Migrations up and down on a real PostGIS database, and the constraints they create."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from geo.models import Base
from geo.store import migrate
from geo.store.database import engine_for

TABLES = {"districts", "agencies", "projects", "progress_reports", "documents"}
CITY = {"jurisdiction", "categories", "terms"}
LOG = {"changes", "change_head"}
CONFLICTS = {"conflicts", "moratoria", "conflict_rules"}
MAP = {"map_features", "map_cells", "map_conflict_cells", "district_sums", "area_versions"}
# in schema disclosed, for the API's read role
VIEWS = {*TABLES, *CITY, *LOG, *CONFLICTS, *MAP, "data_version"}


def _tables(url: str, schema: str = "public") -> set[str]:
    engine = engine_for(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalars()
        found = set(rows)
    engine.dispose()
    return found


def test_upgrade_downgrade_upgrade(scratch_db: str) -> None:
    assert migrate.current(scratch_db) is None
    migrate.upgrade(scratch_db)
    assert _tables(scratch_db) >= TABLES
    assert _tables(scratch_db, "disclosed") == VIEWS
    assert migrate.current(scratch_db) is not None

    migrate.downgrade(scratch_db, "0002")
    assert _tables(scratch_db) >= TABLES
    assert not _tables(scratch_db, "disclosed")

    migrate.downgrade(scratch_db, "base")
    assert not TABLES & _tables(scratch_db)
    assert migrate.current(scratch_db) is None

    migrate.upgrade(scratch_db)
    assert _tables(scratch_db) >= TABLES
    assert _tables(scratch_db, "disclosed") == VIEWS


def test_geometry_columns_and_spatial_indexes(engine) -> None:
    with engine.connect() as conn:
        columns = dict(
            conn.execute(
                text("SELECT f_table_name, type || ':' || srid FROM geometry_columns")
            ).all()
        )
        indexes = set(
            conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")
            ).scalars()
        )
    assert columns["projects"] == "GEOMETRY:4326"
    assert columns["districts"] == "MULTIPOLYGON:4326"
    assert {"ix_projects_geom", "ix_districts_geom"} <= indexes


def _add_agency(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO agencies (code, name) VALUES ('TEST-AGENCY', '{\"en\": \"Test\"}') "
            "ON CONFLICT DO NOTHING"
        )
    )


def _insert_project(conn, **overrides: object) -> None:
    values = {
        "code": "TEST-0001",
        "title": "t",
        "category": "road",
        "project_type": "construction",
        "status": "implementation",
        "agency_code": "TEST-AGENCY",
        "currency": "KRW",
        "budget": 100,
        "planned_start": "2026-01-01",
        "planned_end": "2026-06-30",
        "wkt": "LINESTRING(127.0 37.5, 127.001 37.5)",
    }
    values.update(overrides)
    conn.execute(
        text(
            """
        INSERT INTO projects (code, title, category, project_type, status, agency_code,
                              currency, budget, planned_start, planned_end, geom)
        VALUES (:code, :title, :category, :project_type, :status, :agency_code, :currency,
                :budget, :planned_start, :planned_end, ST_GeomFromText(:wkt, 4326))
        """
        ),
        values,
    )


@pytest.mark.parametrize(
    "override",
    [
        {"category": "spaceport"},
        {"status": "finished"},
        {"currency": None},
        {"budget": -1},
        {"planned_end": "2025-01-01"},
        {"wkt": "POLYGON((127 37.5, 127.01 37.51, 127.01 37.5, 127 37.51, 127 37.5))"},
        {"wkt": "GEOMETRYCOLLECTION(POINT(127 37.5))"},
    ],
    ids=["category", "status", "no currency", "budget", "dates", "bow-tie polygon", "collection"],
)
def test_schema_refuses_bad_projects(engine, override: dict[str, object]) -> None:
    with engine.connect() as conn:
        _add_agency(conn)
        with pytest.raises(IntegrityError):
            _insert_project(conn, **override)
        conn.rollback()


def test_schema_accepts_a_good_project(engine) -> None:
    with engine.connect() as conn:
        _add_agency(conn)
        _insert_project(conn, code="TEST-GOOD")
        stored = conn.execute(
            text("SELECT ST_AsText(geom), ST_SRID(geom) FROM projects WHERE code = 'TEST-GOOD'")
        ).one()
        conn.rollback()
    assert stored == ("LINESTRING(127 37.5,127.001 37.5)", 4326)


def test_a_seoul_database_keeps_its_names_and_becomes_seoul(scratch_db: str) -> None:
    """Before 0004 every portal was Seoul, with names in name_ko/name_en columns."""
    migrate.upgrade(scratch_db, "0003")
    engine = engine_for(scratch_db)
    square = "MULTIPOLYGON(((126.97 37.57, 126.98 37.57, 126.98 37.58, 126.97 37.57)))"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO districts VALUES ('11110', '종로구', 'Jongno-gu', "
                "ST_GeomFromText(:wkt, 4326)); "
                "INSERT INTO agencies VALUES ('JONGNO', '종로구청', 'Jongno-gu Office', NULL)"
            ),
            {"wkt": square},
        )
    migrate.upgrade(scratch_db)
    with engine.connect() as conn:
        district = conn.execute(text("SELECT name, level, parent_code FROM districts")).one()
        agency = conn.execute(text("SELECT name FROM agencies")).scalar_one()
        city = conn.execute(
            text("SELECT name, languages, currency, licence FROM jurisdiction")
        ).one()
        road = conn.execute(text("SELECT label FROM categories WHERE code = 'road'")).scalar()
    assert tuple(district) == ({"ko": "종로구", "en": "Jongno-gu"}, 1, None)
    assert agency == {"ko": "종로구청", "en": "Jongno-gu Office"}
    cc_by = {
        "name": {"ko": "CC BY 4.0", "en": "CC BY 4.0"},
        "url": "https://creativecommons.org/licenses/by/4.0/",
    }  # a city set up before it could name a licence
    assert tuple(city) == ({"ko": "서울특별시", "en": "Seoul"}, ["ko", "en"], "KRW", cc_by)
    assert road == {"ko": "도로", "en": "Road"}

    migrate.downgrade(scratch_db, "0003")
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name_ko, name_en FROM agencies")).one()
    engine.dispose()
    assert tuple(names) == ("종로구청", "Jongno-gu Office")


def test_the_models_describe_the_migrated_schema(engine) -> None:
    """geo/models.py and the migrations agree: tables, columns, types, nullability, defaults,
    indexes and constraints (PostGIS's own spatial_ref_sys aside)."""

    def ours(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        return not (kind == "table" and name == "spatial_ref_sys")

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": ours,
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
