"""``HEAD`` on every ``GET`` route: routed as the ``GET`` it stands for.

The server (uvicorn) knows the request was a ``HEAD`` and sends the headers alone, with the
``Content-Length`` and ``ETag`` the ``GET`` would carry. A route whose body is long to make
(a streamed file) asks ``is_head`` and makes none. The OpenAPI document lists ``GET`` only, as
HEAD is implicit in HTTP.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

HEAD = "allimi.head"  # the scope's mark of a HEAD routed as a GET


def is_head(request: Request) -> bool:
    return bool(request.scope.get(HEAD))


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET", HEAD: True}
        await self.app(scope, receive, send)
