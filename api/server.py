"""How an API process is served: uvicorn with uvloop and httptools, forwarded headers believed
only from the configured proxies. ``allimi run`` and the tests serve through the same config."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from geo.settings import Settings


def uvicorn_config(
    app: FastAPI, settings: Settings, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        log_level=log_level,
    )
