"""The app's route table, for tests generated from it (every route the app is made of)."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api import ogc, pages
from api.app import ROUTERS

ROUTES = [
    route
    for router in (*ROUTERS, ogc.router, pages.router)
    for route in router.routes
    if isinstance(route, APIRoute)
]


def roles_of(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route admits (``api.auth.requires``); None when anyone may call it."""

    def walk(dependant: Dependant) -> tuple[str, ...] | None:
        for sub in dependant.dependencies:
            roles = getattr(sub.call, "roles", None) or walk(sub)
            if roles:
                return tuple(roles)
        return None

    return walk(route.dependant)
