"""Least privilege: the API reads as allimi_read, which sees the published data and nothing else.

Both of the API's ways to read are tried: the owner's login acting as allimi_read (DATABASE_URL
with no ALLIMI_READ_DATABASE_URL, as the test servers do) and the embedded server's own login.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import psycopg2.errors
import pytest
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import parse_dsn
from sqlalchemy import Engine, text

from api.database import SEARCH_PATH, libpq_dsn
from geo.accounts import NewUser, account_of, add_user, issue_token, revoke
from geo.health import HEALTH
from geo.settings import Settings
from geo.store.database import read_url
from tests.city import HIDDEN, ROAD
from tests.conftest import TEST_DB

HIDDEN_REPORT_NOTE = "비공개 사업의 보고"
HIDDEN_DOCUMENT_TITLE = "비공개 사업의 문서"


@pytest.fixture(params=["acting as allimi_read", "allimi_reader login"])
def reader(request, settings: Settings, db_url: str) -> Iterator[Connection]:
    """An autocommit session opened the way the API opens its own."""
    if request.param == "acting as allimi_read":
        url = read_url(Settings(database_url=db_url))
    else:
        url = read_url(settings, TEST_DB)
    dsn = libpq_dsn(url)
    options = f"{parse_dsn(dsn).get('options', '')} -c search_path={SEARCH_PATH}"
    conn = psycopg2.connect(dsn, options=options)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def hidden_children(engine: Engine) -> Iterator[int]:
    """A progress report and a document of the unpublished project; yields its id."""
    with engine.begin() as conn:
        hidden = conn.execute(
            text("SELECT id FROM projects WHERE code = :c"), {"c": HIDDEN.code}
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO progress_reports (project_id, reported_on, actual, planned, "
                "spent_to_date, note) VALUES (:p, '2026-03-31', 5, 5, 1000, :note)"
            ),
            {"p": hidden, "note": HIDDEN_REPORT_NOTE},
        )
        conn.execute(
            text(
                "INSERT INTO documents (project_id, title, document_type, url) "
                "VALUES (:p, :title, 'projectPlan', '/nowhere.pdf')"
            ),
            {"p": hidden, "title": HIDDEN_DOCUMENT_TITLE},
        )
    yield hidden
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE project_id = :p"), {"p": hidden})
        conn.execute(text("DELETE FROM documents WHERE project_id = :p"), {"p": hidden})


def _rows(conn: Connection, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO projects (code, title) VALUES ('X-1', 'x')",
        "INSERT INTO public.projects (code, title) VALUES ('X-1', 'x')",
        "UPDATE projects SET title = 'x'",
        "UPDATE public.projects SET published = true",
        "DELETE FROM documents",
        "UPDATE data_version SET version = 0",
        "CREATE TABLE scribble (x int)",
        "CREATE TABLE public.scribble (x int)",
        "SELECT public.map_refresh('{1}')",
        "SELECT public.refresh_project_statistics()",
    ],
)
def test_writes_are_denied(reader: Connection, statement: str) -> None:
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _rows(reader, statement)


@pytest.mark.parametrize(
    "table",
    [
        "public.projects", "public.progress_reports", "public.documents", "public.alembic_version",
        "public.users", "public.tokens",
    ],
)  # fmt: skip
def test_tables_themselves_are_not_readable(reader: Connection, table: str) -> None:
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _rows(reader, f"SELECT count(*) FROM {table}")


def test_only_published_projects_and_their_rows_are_seen(
    reader: Connection, engine: Engine, hidden_children: int
) -> None:
    with engine.connect() as conn:
        published = set(conn.execute(text("SELECT code FROM projects WHERE published")).scalars())
    assert HIDDEN.code not in published
    assert {code for (code,) in _rows(reader, "SELECT code FROM projects")} == published
    counts = (
        "SELECT (SELECT count(*) FROM progress_reports WHERE project_id = %(p)s), "
        "(SELECT count(*) FROM documents WHERE project_id = %(p)s)"
    )
    assert _rows(reader, counts, {"p": hidden_children}) == [(0, 0)]
    road = _rows(reader, "SELECT id FROM projects WHERE code = %(c)s", {"c": ROAD.code})
    assert _rows(reader, counts, {"p": road[0][0]}) == [(2, 1)]
    notes = {note for (note,) in _rows(reader, "SELECT note FROM progress_reports")}
    assert HIDDEN_REPORT_NOTE not in notes


@pytest.mark.parametrize(
    ("view", "column", "hidden_value"),
    [
        ("projects", "code", HIDDEN.code),
        ("progress_reports", "note", HIDDEN_REPORT_NOTE),
        ("documents", "title", HIDDEN_DOCUMENT_TITLE),
    ],
)
def test_a_reader_condition_never_runs_on_unpublished_rows(
    reader: Connection, hidden_children: int, view: str, column: str, hidden_value: str
) -> None:
    """A condition that fails on the unpublished row would tell it exists (and its value)."""
    tripwire = (
        f"SELECT count(*) FROM {view} "
        f"WHERE CASE WHEN {column} = %(v)s THEN 1 / (char_length({column}) * 0) END IS NULL"
    )
    assert _rows(reader, tripwire, {"v": hidden_value})[0][0] > 0


def test_map_boxes_through_the_view_use_the_spatial_index(reader: Connection) -> None:
    with reader.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    plan = _rows(
        reader,
        "EXPLAIN SELECT id FROM projects WHERE geom && ST_MakeEnvelope(126.9, 37.4, 127.1, 37.6, "
        "4326)",
    )
    assert "ix_projects_geom" in "\n".join(line for (line,) in plan)


def test_the_api_serves_published_projects_only(server, engine: Engine) -> None:
    """The health count's SQL does not filter by ``published``: the view does."""
    with engine.connect() as conn:
        published, everything = conn.execute(
            text("SELECT count(*) FILTER (WHERE published), count(*) FROM projects")
        ).one()
    assert published < everything
    assert server.http.get("/api/health").json()["projects"] == published
    response = server.http.get(f"/api/projects/{HIDDEN.code}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"parameter": "code", "reason": f"No published project has the code {HIDDEN.code}."}
    ]


def test_a_reader_finds_only_a_live_tokens_account(reader: Connection, engine: Engine) -> None:
    with engine.begin() as conn:
        user = add_user(conn, NewUser("reader-lookup@allimi.test", "Lookup", "planner",
                                      "a long enough password"))  # fmt: skip
        live, _ = issue_token(conn, user, "session", None, 600)
        revoked, revoked_id = issue_token(conn, user, "session", None, 600)
        revoke(conn, user, revoked_id)
    try:
        found = _rows(reader, account_of(live).sql, account_of(live).params)
        assert [row[:4] for row in found] == [(user, "reader-lookup@allimi.test", "Lookup",
                                               "planner")]  # fmt: skip
        assert _rows(reader, account_of(revoked).sql, account_of(revoked).params) == []
        unknown = account_of("not a token")
        assert _rows(reader, unknown.sql, unknown.params) == []
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user})


def test_the_health_check_estimates_a_big_count_as_a_reader(reader: Connection) -> None:
    """Past the count it makes exactly, the health check reports the statistics' count of
    published projects, which the read role may see, and says it is an estimate."""
    exact = _rows(reader, "SELECT count(*) FROM projects")[0][0]
    assert exact > 1
    _, counted, estimated = _rows(reader, HEALTH.sql, HEALTH.params)[0]
    assert (counted, estimated) == (exact, False)
    _, guessed, estimated = _rows(reader, HEALTH.sql, {"exact_up_to": 1})[0]
    assert estimated is True
    assert guessed >= 2
