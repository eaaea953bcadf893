"""The sample reverse proxy (deploy/nginx.conf) in front of a live portal, with Debian's nginx.

Behind it, each client keeps limits of its own: the portal believes the proxy's
X-Forwarded-For because the proxy is in ALLIMI_TRUSTED_PROXIES, and nobody else's.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from geo.settings import PROJECT_ROOT, Settings
from tests.conftest import VERSION_TTL, Server, free_port, serve

CONFIG = PROJECT_ROOT / "deploy" / "nginx.conf"
PUBLIC = "https://allimi.example.org"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _client(base: str, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=30
    )


def _config_for(api: Server, port: int, folder: Path) -> Path:
    """deploy/nginx.conf, pointed at the test portal and listening on ``port``."""
    text = CONFIG.read_text()
    api_port = api.base.rsplit(":", 1)[1]
    for old, new in (
        ("server portal:8000;", f"server 127.0.0.1:{api_port};"),
        ("listen 8000;", f"listen 127.0.0.1:{port};"),
        ("pid /tmp/allimi-nginx.pid;", f"pid {folder}/nginx.pid;"),
        ("access_log /dev/stdout;", "access_log off;"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture
def behind_proxy(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The portal (believing 127.0.0.1) behind nginx; yields the proxy's base URL."""
    settings = Settings(
        database_url=db_url,
        version_ttl=VERSION_TTL,
        trusted_proxies="127.0.0.1",
        public_url=PUBLIC,
        rate_per_s=0.5,
        rate_burst=3,
    )
    tmp_path.chmod(0o777)  # nginx's workers keep their temporary files here
    for api in serve(settings):
        port = free_port()
        config = _config_for(api, port, tmp_path)
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    httpx.get(f"{base}/api/layers", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and nginx.poll() is None, "no nginx"
                    time.sleep(0.1)
            yield base
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


def test_behind_the_proxy_each_client_keeps_its_own_limits(behind_proxy: str) -> None:
    with _client(behind_proxy, "127.0.0.2") as first, _client(behind_proxy, "127.0.0.3") as other:
        # the fixture's probe spent one of 127.0.0.1's tokens, not these clients'
        statuses = [first.get("/api/layers").status_code for _ in range(4)]
        served = other.get("/api/layers")
    assert statuses == [200, 200, 200, 429]
    assert served.status_code == 200


def test_the_proxy_passes_the_public_links_and_compresses_json(behind_proxy: str) -> None:
    with _client(behind_proxy, "127.0.0.4") as client:
        response = client.get("/api/layers", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    tiles = response.json()["layers"][0]["links"]["tiles"]
    assert tiles.startswith(f"{PUBLIC}/api/layers/")


def test_a_forwarded_address_from_anyone_but_the_proxy_is_not_believed(db_url: str) -> None:
    settings = Settings(
        database_url=db_url, trusted_proxies="127.0.0.1", rate_per_s=0.5, rate_burst=2
    )
    for api in serve(settings):
        with _client(api.base, "127.0.0.5") as liar:
            forged = {"X-Forwarded-For": "203.0.113.9"}
            statuses = [liar.get("/api/layers", headers=forged).status_code for _ in range(3)]
            other = {"X-Forwarded-For": "203.0.113.10"}
            still = liar.get("/api/layers", headers=other).status_code
    # one client however it names itself: its third request and the renamed fourth are refused
    assert statuses == [200, 200, 429]
    assert still == 429
