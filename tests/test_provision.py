"""The embedded PostGIS: reuse, and one clear sentence for each way provisioning can fail."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from geo import provision
from geo.db import check_postgis, engine_for
from geo.errors import AllimiError
from geo.settings import Settings
from tests.conftest import free_port

ALLIMI = str(Path(sys.executable).with_name("allimi"))


def test_second_start_reuses_the_running_cluster(settings: Settings) -> None:
    first = provision.start_local(settings)
    pid = (first.data_dir / "postmaster.pid").read_text().splitlines()[0]
    second = provision.start_local(settings)
    assert second == first
    assert (second.data_dir / "postmaster.pid").read_text().splitlines()[0] == pid


@pytest.fixture
def spare_cluster(tmp_path: Path):
    """Settings for a second, throwaway embedded cluster on a free port."""
    spare = Settings(state_dir=tmp_path / "state", pg_port=free_port())
    yield spare
    provision.stop_local(spare)
    shutil.rmtree(provision.cluster_root(spare), ignore_errors=True)


def test_stopped_cluster_starts_again_with_its_data(spare_cluster: Settings) -> None:
    cluster = provision.start_local(spare_cluster)
    url = cluster.url("postgres")
    engine = engine_for(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE kept (x int)"))
    engine.dispose()
    assert provision.stop_local(spare_cluster) is True
    assert provision.stop_local(spare_cluster) is False
    again = provision.start_local(spare_cluster)
    assert again.root == cluster.root
    check_postgis(again.url("postgres"))
    engine = engine_for(again.url("postgres"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('kept')::text")).scalar() == "kept"
    engine.dispose()


def test_port_in_use_is_refused_clearly(spare_cluster: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", spare_cluster.pg_port))
        busy.listen()
        with pytest.raises(AllimiError, match=f"Port {spare_cluster.pg_port} .* in use"):
            provision.start_local(spare_cluster)


def _allimi(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env)
    return subprocess.run(
        [ALLIMI, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def _one_clear_sentence(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for phrase in phrases:
        assert phrase in lines[0]


def test_unreachable_database_url() -> None:
    done = _allimi(
        "db", "start", DATABASE_URL=f"postgresql://someone:pw@127.0.0.1:{free_port()}/nowhere"
    )
    _one_clear_sentence(done, "Cannot reach the database", "DATABASE_URL")
    assert "pw@" not in done.stderr


def test_database_url_without_postgis(settings: Settings, db_url: str) -> None:
    """A database whose owner may not create the PostGIS extension."""
    admin = engine_for(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS allimi_test_plain"))
        conn.execute(text("DROP ROLE IF EXISTS allimi_plain"))
        conn.execute(text("CREATE ROLE allimi_plain LOGIN PASSWORD 'plain'"))
        conn.execute(text("CREATE DATABASE allimi_test_plain OWNER allimi_plain"))
    try:
        url = f"postgresql://allimi_plain:plain@127.0.0.1:{settings.pg_port}/allimi_test_plain"
        done = _allimi("db", "start", DATABASE_URL=url)
        _one_clear_sentence(done, "lacks PostGIS", "CREATE EXTENSION postgis")
    finally:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS allimi_test_plain"))
            conn.execute(text("DROP ROLE IF EXISTS allimi_plain"))
        admin.dispose()


def test_no_postgresql_and_no_way_to_install(tmp_path: Path) -> None:
    done = _allimi(
        "db",
        "start",
        ALLIMI_PG_BINDIR=str(tmp_path / "no-such-bin"),
        ALLIMI_PG_INSTALL="false",
        ALLIMI_STATE_DIR=str(tmp_path / "state"),
    )
    _one_clear_sentence(done, "PostgreSQL with PostGIS was not found", "ALLIMI_PG_INSTALL")


def test_bad_as_of_date() -> None:
    done = _allimi("demo", "--as-of", "26/11/2026")
    _one_clear_sentence(done, "--as-of", "YYYY-MM-DD")
