"""The documents of the OGC API as a whole: landing page, conformance, and its OpenAPI
description (``service-desc``), made from the application's own OpenAPI document.

The description names each collection's paths (``/collections/projects/items``) with that
collection's queryables as parameters and ``limit`` as a shared parameter stating its maximum:
what GDAL's and QGIS's clients read to choose their page size and what they may filter on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from layers.base import Layer
from layers.collections import (
    HTML,
    HTML_F,
    JSON,
    Href,
    link,
    parameter_queryables,
    queryable_schema,
)
from layers.items import DEFAULT_LIMIT, MAX_LIMIT

PREFIX = "/ogc"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
# What this API implements, so that clients (QGIS, GDAL) send their filters to the server
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
]


LIMIT = {
    "name": "limit",
    "in": "query",
    "required": False,
    "description": f"At most this many features a page ({DEFAULT_LIMIT} unless given)",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
}


def landing(title: str, href: Href) -> dict[str, Any]:
    """The landing page: what this is, and links to everything else."""
    return {
        "title": title,
        "description": "The city's public construction projects, its districts and where "
        "works meet, as OGC API - Features (Part 1 Core, Part 3 Filtering with CQL2).",
        "links": [
            link("self", JSON, "This document", href(PREFIX, None)),
            link("alternate", HTML, "As HTML", href(PREFIX, HTML_F)),
            link(
                "service-desc",
                OPENAPI,
                "The API's OpenAPI description",
                href(f"{PREFIX}/api", None),
            ),
            link("service-doc", HTML, "The API's documentation", href("/docs", None)),
            link("conformance", JSON, "Conformance classes", href(f"{PREFIX}/conformance", None)),
            link("data", JSON, "Collections", href(f"{PREFIX}/collections", None)),
        ],
    }


def conformance(href: Href) -> dict[str, Any]:
    return {
        "conformsTo": CONFORMANCE,
        "links": [
            link("self", JSON, "This document", href(f"{PREFIX}/conformance", None)),
            link("alternate", HTML, "As HTML", href(f"{PREFIX}/conformance", HTML_F)),
        ],
    }


def _schema30(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema as OpenAPI 3.0 writes it (no ``prefixItems``, one ``example``)."""
    schema = {k: v for k, v in schema.items() if k != "prefixItems"}
    if isinstance(schema.get("examples"), list):
        schema["example"] = schema.pop("examples")[0]
    return schema


def _parameters(operation: dict[str, Any], layer: Layer | None, items: bool) -> list[Any]:
    parameters: list[Any] = []
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "collectionId":
            continue
        if items and parameter["name"] == "limit":
            parameters.append({"$ref": "#/components/parameters/limit"})
            continue
        parameters.append({**parameter, "schema": _schema30(parameter.get("schema", {}))})
    if items and layer is not None:
        for name in parameter_queryables(layer):
            schema = queryable_schema(layer, name)
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": f"Only the features whose {name} is this: "
                    f"{schema['description']}",
                    "schema": schema,
                }
            )
    return parameters


def description(
    document: dict[str, Any], layers: Iterable[Layer], server: str, title: str
) -> dict[str, Any]:
    """The OpenAPI description of the routes under ``/ogc`` of the application's
    ``document``, relative to ``server`` (the URL of ``/ogc``), each collection's paths
    written out."""
    layers = list(layers)
    paths: dict[str, Any] = {}
    for path, operations in document["paths"].items():
        if not path.startswith(PREFIX):
            continue
        local = path.removeprefix(PREFIX) or "/"
        items = local.endswith("/items")
        for layer in layers if "{collectionId}" in local else [None]:
            named = local.replace("{collectionId}", layer.id) if layer else local
            paths[named] = {}
            for method, operation in operations.items():
                described = copy.deepcopy(operation)
                described["parameters"] = _parameters(operation, layer, items)
                if layer:
                    described["operationId"] = f"{operation['operationId']}_{layer.id}"
                paths[named][method] = described
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": document["info"]["version"]},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"parameters": {"limit": LIMIT}},
    }
