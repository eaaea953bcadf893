"""What every route of the table keeps to."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.routes import ROUTES

# FastAPI's own form class (a class dependency is called in a worker thread): only the sign-in
# takes it, which spends far longer hashing the password
LIBRARY_CLASSES = {"OAuth2PasswordRequestForm"}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_every_dependency_runs_on_the_event_loop(route: APIRoute) -> None:
    """FastAPI runs a plain-function dependency in a worker thread, a hand-off on every
    request: a dependency that blocks on nothing is ``async``."""
    plain = [
        getattr(sub.call, "__qualname__", repr(sub.call))
        for sub in _dependencies(route.dependant)
        if sub.call is not None
        and getattr(sub.call, "__qualname__", None) not in LIBRARY_CLASSES
        and not inspect.iscoroutinefunction(sub.call)
        and not inspect.iscoroutinefunction(type(sub.call).__call__)  # an instance
    ]
    assert plain == []
