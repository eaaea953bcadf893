"""The FastAPI application: routers over one pool of database connections, no other state.

It is handed the URL it reads with, ready: provisioning and migrating the database are the
``allimi`` command's (``geo.store``), never the web application's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI

from api import (
    admin,
    auth,
    changes,
    config,
    conflicts,
    districts,
    downloads,
    feeds,
    health,
    imports,
    layers,
    oc4ids,
    ogc,
    openapi,
    pages,
    problems,
    project_writes,
    projects,
    reports,
    sample_documents,
    security,
    sheet,
)
from api.caching import BodyCache, SharedBodies, Versions
from api.city import CityCache
from api.database import Database, libpq_dsn
from api.head import HeadAsGet
from api.limits import ClientLimits, HeaderLimits
from api.params import strict_query
from api.writer import Writer
from geo.conflicts.rules import ConflictSettings, Rules
from geo.settings import Settings

SHARED_CACHE_CONNECTIONS = 2  # to the primary, for the shared body cache (``api.caching``)
# The documented routes, by router: each takes only the query parameters it declares. The map
# page (``pages``) also reads the view's state from its URL, so it takes any.
ROUTERS = tuple(
    module.router
    for module in (
        health,
        config,
        projects,
        project_writes,
        reports,
        imports,
        conflicts,
        changes,
        layers,
        districts,
        oc4ids,
        downloads,
        feeds,
        sheet,
        sample_documents,
        auth,
        admin,
    )
)


def create_app(settings: Settings, read_url: str, write_url: str | None = None) -> FastAPI:
    """The portal reading published data as the login of ``read_url`` and writing officials'
    changes as that of ``write_url`` (without one it is read-only: writes answer 503). It
    connects on the first request that needs the database, and answers 503 while it cannot."""
    dsn = libpq_dsn(read_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.concurrency
        app.state.database = Database(
            dsn,
            settings.concurrency,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_wait_s=settings.pool_wait_s,
        )
        app.state.health_database = health.own_connection(dsn)
        app.state.data_version = Versions(settings.version_ttl)  # and the area versions
        app.state.city = CityCache()
        app.state.writer = (
            Writer(write_url, settings.statement_timeout_ms, settings.pool_wait_s)
            if write_url
            else None
        )
        app.state.bodies = BodyCache(settings.cache_mb * 2**20, settings.cache_min_ms / 1000)
        app.state.shared_bodies = (
            SharedBodies(
                Database(
                    libpq_dsn(write_url),
                    SHARED_CACHE_CONNECTIONS,
                    statement_timeout_ms=settings.statement_timeout_ms,
                    pool_wait_s=settings.pool_wait_s,
                    search_path=None,
                    name="allimi-cache",
                ),
                settings.shared_cache_mb * 2**20,
                scope=settings.public_url or "",
            )
            if write_url and settings.shared_cache_mb
            else None
        )
        app.state.geopackages = downloads.GeoPackages()
        yield
        app.state.database.close()
        app.state.health_database.close()
        if app.state.writer:
            app.state.writer.close()
        if app.state.shared_bodies:
            app.state.shared_bodies.db.close()

    app = FastAPI(
        title="Allimi",
        summary="Every public construction project of the city, with its money and progress.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # api/pages.py serves /docs and /redoc from the pinned local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.conflict_rules = Rules.of(ConflictSettings())
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(strict_query)])
    # OGC API Features takes each collection's queryables as query parameters: it checks them
    # itself, per collection.
    app.include_router(ogc.router)
    app.include_router(pages.router)
    pages.mount_static(app)
    openapi.install(app)
    app.state.query_names = {}  # route -> the query parameters it takes, worked out once
    # Middleware, innermost first: every answer, a 429 or 431 too, gets the security headers
    # and CORS, so a page of another site can read why it must wait.
    app.add_middleware(HeadAsGet)
    app.add_middleware(ClientLimits, settings=settings)
    app.add_middleware(HeaderLimits)
    security.install(app, settings.basemap_url)
    return app
