"""Links in responses: from the configured public URL (``ALLIMI_PUBLIC_URL``), else relative.

Never from the request's ``Host`` or forwarded headers: a body is cached and served to every
later visitor, so one forged header must not write its host into everyone's links.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import Request


def href(request: Request, path: str, query: Mapping[str, object] | None = None) -> str:
    """The link to ``path`` (with ``query``) as clients of this portal should follow it."""
    base = (request.app.state.settings.public_url or "").rstrip("/")
    return f"{base}{path}{'?' + urlencode(query) if query else ''}"


def this_page(request: Request, **changes: object | None) -> str:
    """The link to the request's own URL, with query parameters set (None: left out)."""
    query: dict[str, object] = dict(request.query_params)
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return href(request, request.url.path, query)
