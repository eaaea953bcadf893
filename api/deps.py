"""Reaching the database from a request: the engine the app was built with."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Connection


def connect(request: Request) -> Connection:
    """A pooled connection, for ``with connect(request) as conn:`` in a sync endpoint.

    Taken inside the endpoint's own thread rather than through a dependency, which would cost
    two more hand-offs between the event loop and the thread pool per request.
    """
    return request.app.state.engine.connect()
