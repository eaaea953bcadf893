"""``HEAD`` on every ``GET`` route: routed as the ``GET`` it stands for.

The server (uvicorn) knows the request was a ``HEAD`` and sends the headers alone, with the
``Content-Length`` and ``ETag`` the ``GET`` would carry. The OpenAPI document lists ``GET``
only, as HEAD is implicit in HTTP.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
