"""The FastAPI application: routers over one pool of database connections, no other state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api import (
    config,
    districts,
    health,
    layers,
    pages,
    problems,
    projects,
    sample_documents,
    sheet,
)
from api.caching import BodyCache, DataVersion
from api.database import Database, libpq_dsn
from geo.db import database_url
from geo.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.concurrency
        dsn = libpq_dsn(database_url(settings))
        app.state.database = Database(
            dsn,
            settings.concurrency,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_wait_s=settings.pool_wait_s,
        )
        app.state.health_database = health.own_connection(dsn)
        app.state.data_version = DataVersion(settings.version_ttl)
        app.state.bodies = BodyCache(settings.cache_mb * 2**20, settings.cache_min_ms / 1000)
        yield
        app.state.database.close()
        app.state.health_database.close()

    app = FastAPI(
        title="Allimi",
        summary="Every public construction project of the city, with its money and progress.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    problems.install(app)
    for module in (health, config, projects, layers, districts, sheet, sample_documents):
        app.include_router(module.router)
    app.include_router(pages.router)
    pages.mount_static(app)
    return app
