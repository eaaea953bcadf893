"""The run command end to end: provision, migrate, load the demo into an empty database, serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from geo.settings import Settings
from geo.store.database import drop_database, prepare
from tests.conftest import free_port

ALLIMI = str(Path(sys.executable).with_name("allimi"))


def _wait_healthy(base: str, process: subprocess.Popen[str], seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            response = httpx.get(f"{base}/api/health", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the portal did not come up")


def _run(port: int, dbname: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(ALLIMI_DB_NAME=dbname, ALLIMI_DEMO_PROJECTS="300")
    return subprocess.Popen(
        [ALLIMI, "run", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_run_brings_up_the_portal_with_the_demo_then_reuses_it() -> None:
    dbname = "allimi_test_run"
    drop_database(prepare(Settings(), dbname))
    try:
        for attempt in range(2):
            port = free_port()
            process = _run(port, dbname)
            try:
                health = _wait_healthy(f"http://127.0.0.1:{port}", process, 120)
                assert health["projects"] == 300, f"attempt {attempt}"
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                assert page.status_code == 200
                # a new portal is Seoul: its names, Korean first, won
                config = httpx.get(f"http://127.0.0.1:{port}/api/config", timeout=5).json()
                city = config["jurisdiction"]
                assert (city["name"], city["languages"], city["currency"]) == (
                    {"ko": "서울특별시", "en": "Seoul"},
                    ["ko", "en"],
                    "KRW",
                )
                project = httpx.get(f"http://127.0.0.1:{port}/api/projects?limit=1", timeout=5)
                assert project.json()["features"][0]["id"].startswith("SEOUL-")
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
    finally:
        drop_database(prepare(Settings(), dbname))
