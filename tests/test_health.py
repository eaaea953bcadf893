"""``/api/health`` and the home page, over real HTTP."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from api.app import create_app
from geo.settings import Settings
from tests.conftest import nowhere, serve


def test_health_reports_database_postgis_and_count(server, engine) -> None:
    with engine.connect() as conn:
        version, count = conn.execute(
            text("SELECT postgis_lib_version(), (SELECT count(*) FROM projects WHERE published)")
        ).one()
    response = server.http.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "database": "reachable",
        "postgis": version,
        "projects": count,
        "projects_estimated": False,
    }


def test_health_says_when_the_database_is_down(tmp_path: Path) -> None:
    """The app reads from the URL it is handed, never provisions: with no database in its
    settings, trying would stop its start (no PostgreSQL to be found nor installed)."""
    settings = Settings(
        database_url=None,
        read_database_url=None,
        state_dir=tmp_path / "state",
        pg_bindir=tmp_path / "no-postgres",
        pg_install=False,
    )
    for running in serve(settings, create_app(settings, nowhere())):
        began = time.monotonic()
        response = running.http.get("/api/health")
        seconds = time.monotonic() - began
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The database is unreachable.",
            "instance": "/api/health",
        }
        assert seconds < 1


def test_home_page_is_served(server) -> None:
    response = server.http.get("/")
    assert response.status_code == 200
    assert "Allimi" in response.text
