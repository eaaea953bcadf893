"""The web application is handed a ready URL: it never provisions nor migrates a database, and
nothing it imports reaches ``geo.store`` (the ``allimi`` command's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from geo.settings import PROJECT_ROOT
from tests.conftest import nowhere

# Imports every module of api/ but the command, builds the app, runs its start-up and shut-down,
# and tells which geo.store modules got imported and how many connections were opened.
START = """
import asyncio, importlib, json, sys
from pathlib import Path

import psycopg2

opened = []
connect = psycopg2.connect
psycopg2.connect = lambda *args, **kwargs: opened.append(args) or connect(*args, **kwargs)

for path in sorted(Path("api").glob("*.py")):
    if path.stem != "cli":
        importlib.import_module(f"api.{path.stem}")

from api.app import create_app
from geo.settings import Settings

async def start_and_stop(app):
    async with app.router.lifespan_context(app):
        pass

asyncio.run(start_and_stop(create_app(Settings(), sys.argv[1])))
store = sorted(name for name in sys.modules if name.startswith("geo.store"))
print(json.dumps({"store": store, "connections": len(opened)}))
"""


def test_the_app_starts_without_the_store_and_without_connecting(tmp_path: Path) -> None:
    """No database in the settings: provisioning would be tried, and fail at once (no
    PostgreSQL to be found nor installed) rather than set a cluster up."""
    named = ("DATABASE_URL", "ALLIMI_DATABASE_URL", "ALLIMI_READ_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in named}
    env.update(
        ALLIMI_STATE_DIR=str(tmp_path / "state"),
        ALLIMI_PG_BINDIR=str(tmp_path / "no-postgres"),
        ALLIMI_PG_INSTALL="false",
    )
    done = subprocess.run(
        [sys.executable, "-c", START, nowhere()],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"store": [], "connections": 0}
