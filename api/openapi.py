"""The OpenAPI document, tidied to say exactly what the query parameters accept.

FastAPI describes an optional parameter as "its type or null", but a query string cannot carry
a null: the null branch goes. A parameter declared with ``api.params.comma_list`` is a list
written ``a,b,c`` (``style: form, explode: false``), the way OGC API Features writes ``bbox``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def _tidy(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema = {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    if schema.pop("x-comma-list", False):
        parameter["style"], parameter["explode"] = "form", False
    parameter["schema"] = schema


def install(app: FastAPI) -> None:
    """Serve the tidied document at ``/openapi.json`` (made once per process)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for operations in build().get("paths", {}).values():
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if parameter.get("in") == "query":
                            _tidy(parameter)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
