"""The embedded PostGIS: reuse, and one clear sentence for each way provisioning can fail."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo.errors import AllimiError
from geo.settings import Settings
from geo.store import provision
from geo.store.database import check_postgis, engine_for
from tests.conftest import free_port

ALLIMI = str(Path(sys.executable).with_name("allimi"))


def test_second_start_reuses_the_running_cluster(settings: Settings) -> None:
    first = provision.start_local(settings)
    pid = (first.data_dir / "postmaster.pid").read_text().splitlines()[0]
    second = provision.start_local(settings)
    assert second == first
    assert (second.data_dir / "postmaster.pid").read_text().splitlines()[0] == pid


def _stop_and_remove(spare: Settings) -> None:
    provision.stop_local(spare)
    shutil.rmtree(provision.cluster_root(spare), ignore_errors=True)


@pytest.fixture
def spare_cluster(tmp_path: Path) -> Iterator[Settings]:
    """Settings for a second, throwaway embedded cluster on a free port set explicitly."""
    spare = Settings(state_dir=tmp_path / "state", pg_port=free_port())
    yield spare
    _stop_and_remove(spare)


@pytest.fixture
def unset_port_clusters(tmp_path: Path) -> Iterator[Callable[[str], Settings]]:
    """Settings for throwaway clusters whose port is not set (ALLIMI_PG_PORT unset)."""
    made: list[Settings] = []

    def make(name: str) -> Settings:
        made.append(Settings(state_dir=tmp_path / name, pg_port=None))
        return made[-1]

    yield make
    for spare in made:
        _stop_and_remove(spare)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_stopped_cluster_starts_again_with_its_data_on_its_port(
    unset_port_clusters: Callable[[str], Settings],
) -> None:
    spare = unset_port_clusters("state")
    cluster = provision.start_local(spare)
    assert cluster.port_file.read_text().strip() == str(cluster.port)
    engine = engine_for(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE kept (x int)"))
    engine.dispose()
    assert provision.stop_local(spare) is True
    assert provision.stop_local(spare) is False
    assert not _listening(cluster.port)
    again = provision.start_local(spare)
    assert (again.root, again.port) == (cluster.root, cluster.port)
    check_postgis(again.url("postgres"))
    engine = engine_for(again.url("postgres"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('kept')::text")).scalar() == "kept"
    engine.dispose()


def test_two_checkouts_get_servers_on_ports_of_their_own(
    unset_port_clusters: Callable[[str], Settings],
) -> None:
    first = provision.start_local(unset_port_clusters("one"))
    two = unset_port_clusters("two")
    done = _allimi("db", "url", without=("ALLIMI_PG_PORT",), ALLIMI_STATE_DIR=str(two.state_dir))
    assert done.returncode == 0, done.stderr
    printed = make_url(done.stdout.strip())
    second = provision.start_local(two)
    assert printed.port == second.port != first.port
    for cluster in (first, second):
        assert provision.running_port(cluster) == cluster.port
        check_postgis(cluster.url("postgres"))


def test_a_remembered_port_taken_meanwhile_is_replaced_and_remembered(
    unset_port_clusters: Callable[[str], Settings],
) -> None:
    spare = unset_port_clusters("state")
    cluster = provision.start_local(spare)
    provision.stop_local(spare)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", cluster.port))
        busy.listen()
        moved = provision.start_local(spare)
    assert moved.port != cluster.port
    assert moved.port_file.read_text().strip() == str(moved.port)
    assert provision.running_port(moved) == moved.port


def test_port_in_use_is_refused_clearly(spare_cluster: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", spare_cluster.pg_port))
        busy.listen()
        with pytest.raises(AllimiError, match=f"Port {spare_cluster.pg_port} .* in use"):
            provision.start_local(spare_cluster)


def _allimi(
    *args: str, without: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the command without DATABASE_URL (and the variables ``without``) in its environment."""
    dropped = {"DATABASE_URL", *without}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
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
        port = make_url(db_url).port
        url = f"postgresql://allimi_plain:plain@127.0.0.1:{port}/allimi_test_plain"
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


def test_the_embedded_server_keeps_pages_in_the_memory_it_is_given(tmp_path: Path) -> None:
    spare = Settings(state_dir=tmp_path / "state", pg_port=free_port(), pg_shared_buffers_mb=48)
    try:
        cluster = provision.start_local(spare)
        engine = engine_for(cluster.url("postgres"))
        with engine.connect() as conn:
            assert conn.execute(text("SHOW shared_buffers")).scalar() == "48MB"
        engine.dispose()
    finally:
        _stop_and_remove(spare)
    total_kb = int(Path("/proc/meminfo").read_text().split()[1])  # MemTotal, the first line
    assert provision.default_shared_buffers_mb() == max(256, min(total_kb // 1024 // 4, 8192))
