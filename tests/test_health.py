"""``/api/health`` and the home page, over real HTTP."""

from __future__ import annotations

from sqlalchemy import text

from geo.settings import Settings
from tests.conftest import free_port, serve


def test_health_reports_database_postgis_and_count(server, engine) -> None:
    with engine.connect() as conn:
        version, count = conn.execute(
            text("SELECT postgis_lib_version(), (SELECT count(*) FROM projects WHERE published)")
        ).one()
    response = server.http.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "database": "reachable", "postgis": version, "projects": count}


def test_health_says_when_the_database_is_down() -> None:
    down = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none"
    for running in serve(Settings(database_url=down)):
        response = running.http.get("/api/health")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 503
        assert "unreachable" in body["detail"]
        assert "secret" not in response.text


def test_home_page_is_served(server) -> None:
    response = server.http.get("/")
    assert response.status_code == 200
    assert "Allimi" in response.text
