"""OGC API - Features (Part 1 Core, Part 3 Filtering) at ``/ogc``, from the layer catalogue.

Every document comes as JSON (features as GeoJSON) or HTML: ``f=json`` or ``f=html``, else the
``Accept`` header decides, and a browser asking for HTML is sent on to ``f=html``, so that
each URL has one representation (and one ETag). Feature ids are the rows' integer ids (a
project's code is its ``code`` property). Each collection's queryables are also query
parameters of its items (``status=planned``), so this router checks the parameters itself.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.caching import cached
from api.city import City, city
from api.database import Database
from api.links import href, this_page
from api.params import bbox_query, declared_names, parse_bbox, refuse_unknown
from api.problems import Problem, documented
from api.rendering import templates
from geo.cql2 import LANGUAGES, MAX_LENGTH, FilterError, condition, equals, parse
from layers import LAYERS, Layer
from layers.base import title
from layers.collections import (
    CRS84,
    GEOJSON,
    HTML,
    JSON,
    SCHEMA_JSON,
    collection,
    extents,
    link,
    parameter_queryables,
    queryables,
    read_extents,
)
from layers.items import (
    DATETIME,
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    Selection,
    decode_cursor,
    encode_cursor,
    one,
    page,
    parse_datetime,
)
from layers.service import OPENAPI, conformance, description, landing

FORMS = ("json", "html")


async def known_parameters(request: Request) -> None:
    """``strict_query``'s refusals, where an items route also takes the collection's
    queryables."""
    known = declared_names(request)
    collection_id = request.path_params.get("collectionId")
    layer = _layer(collection_id) if collection_id is not None else None
    if layer is not None and request.scope["route"].path.endswith("/items"):
        known |= frozenset(parameter_queryables(layer))
    refuse_unknown(request, known)


router = APIRouter(prefix="/ogc", tags=["ogc"], dependencies=[Depends(known_parameters)])

Form = Annotated[
    str | None,
    Query(
        description="json (features as GeoJSON) or html; without it, the Accept header "
        "decides (a browser is sent on to f=html)",
        json_schema_extra={"enum": list(FORMS)},
    ),
]
CollectionId = Annotated[
    str,
    Path(
        alias="collectionId",
        description="A collection (a layer of the catalogue)",
        json_schema_extra={"enum": list(LAYERS)},
    ),
]


def _crs84(alias: str, what: str) -> Any:
    """A CRS parameter, which takes CRS84 (longitude, latitude), the only one here."""
    return Query(
        alias=alias,
        description=f"The CRS of {what}: CRS84 (longitude, latitude), the only one",
        json_schema_extra={"enum": [CRS84]},
    )


def _only_crs84(name: str, value: str | None) -> None:
    if value not in (None, CRS84):
        raise Problem(400, f"{name} is {CRS84} (lon/lat in degrees), the only one.", param=name)


Crs = Annotated[str | None, _crs84("crs", "the features' coordinates")]
Here = Annotated[City, Depends(city)]
CONTENT_CRS = {"Content-Crs": f"<{CRS84}>"}
NOT_FOUND = documented("No such collection or feature")
ON_TO_HTML = {"description": "A browser asking for HTML is sent on to f=html"}


def _get(path: str, media_type: str, what: str) -> Callable[[Any], Any]:
    """A route of a document in JSON (``media_type``) or HTML, with its answers documented."""
    return router.get(
        path,
        response_class=Response,
        responses={
            200: {"description": what, "content": {media_type: {}, HTML: {}}},
            303: ON_TO_HTML,
            404: NOT_FOUND,
        },
    )


def _layer(collection_id: str) -> Layer:
    layer = LAYERS.get(collection_id)
    if layer is None:
        raise Problem(
            404,
            f"There is no collection {collection_id!r}; known: {', '.join(LAYERS)}.",
            param="collectionId",
        )
    return layer


async def collection_layer(collection_id: CollectionId) -> Layer:
    """The layer a path's ``collectionId`` names (a dependency); 404 when there is none."""
    return _layer(collection_id)


TheLayer = Annotated[Layer, Depends(collection_layer)]


def _form(request: Request, f: str | None) -> str | None:
    """The representation asked for: ``f``, else what the Accept header prefers (None: HTML
    through a redirect to ``f=html``)."""
    if f is not None:
        if f not in FORMS:
            raise Problem(400, f"f is json or html, not {f!r}.", param="f")
        return f
    preference: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        preference[media.strip().lower()] = weight
    html = preference.get("text/html", 0.0)
    json_weight = max((w for m, w in preference.items() if m.endswith("json")), default=0.0)
    return None if html > 0 and html > json_weight else "json"


def _links(request: Request, form: str, media_type: str) -> list[dict[str, str]]:
    """``self`` and ``alternate`` links of the document answering ``request``."""
    other = "html" if form == "json" else "json"
    types = {"json": media_type, "html": HTML}
    return [
        link("self", types[form], "This document", this_page(request)),
        link("alternate", types[other], f"As {other.upper()}", this_page(request, f=other)),
    ]


def _collection_link(request: Request, layer: Layer) -> dict[str, str]:
    return link("collection", JSON, "The collection", href(request, f"/ogc/collections/{layer.id}"))


def _linker(request: Request) -> Callable[[str, dict[str, str] | None], str]:
    return lambda path, query: href(request, path, query)


async def _answer(
    request: Request,
    f: str | None,
    media_type: str,
    make: Callable[[Database, str], Awaitable[dict[str, Any] | str]],
    page_template: str,
    here: City,
    headers: dict[str, str] | None = None,
    **context: str,
) -> Response:
    """The document ``make`` reads (a dict, or JSON text as PostGIS wrote it), as
    ``media_type`` JSON or as the HTML page."""
    form = _form(request, f)
    if form is None:
        return RedirectResponse(this_page(request, f="html"), 303, headers={"Vary": "Accept"})

    async def produce(db: Database) -> str:
        document = await make(db, form)
        if form == "json":
            if isinstance(document, str):
                return document
            return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        if isinstance(document, str):
            document = json.loads(document, parse_float=Decimal)  # amounts as PostGIS wrote them
        page = templates.get_template(f"ogc/{page_template}")
        city_name = here.jurisdiction.local(here.jurisdiction.name)
        return page.render(doc=document, city=city_name, **context)

    response = await cached(request, media_type if form == "json" else HTML, produce)
    response.headers.update({**(headers or {}), **({"Vary": "Accept"} if f is None else {})})
    return response


@_get("", JSON, "The landing page")
async def landing_page(request: Request, here: Here, f: Form = None) -> Response:
    """The landing page: links to the API description, conformance and the collections."""

    async def make(db: Database, form: str) -> dict[str, Any]:
        name = here.jurisdiction.local(here.jurisdiction.name)
        return landing(f"{name}: public works", _linker(request))

    return await _answer(request, f, JSON, make, "landing.html", here)


@_get("/conformance", JSON, "Conformance classes")
async def conformance_classes(request: Request, here: Here, f: Form = None) -> Response:
    """The conformance classes this API implements."""

    async def make(db: Database, form: str) -> dict[str, Any]:
        return conformance(_linker(request))

    return await _answer(request, f, JSON, make, "conformance.html", here)


@router.get(
    "/api",
    response_class=Response,
    responses={200: {"description": "OpenAPI 3.0", "content": {OPENAPI: {}}}},
)
async def service_description(request: Request, here: Here) -> Response:
    """The OpenAPI description of this API (``service-desc``): each collection's paths with
    its queryables as parameters, and ``limit``'s default and maximum."""
    name = here.jurisdiction.local(here.jurisdiction.name)

    async def produce(db: Database) -> str:
        document = description(
            request.app.openapi(), LAYERS.values(), href(request, "/ogc"), f"{name}: OGC API"
        )
        return json.dumps(document, ensure_ascii=False)

    return await cached(request, OPENAPI, produce)


async def _collections(
    db: Database, layers: list[Layer], request: Request, here: City
) -> list[dict[str, Any]]:
    margin_m = request.app.state.settings.geometry_margin_m
    found = read_extents(await db.rows(extents(layers, margin_m)))
    j = here.jurisdiction
    return [
        collection(layer, j.local(title(layer, j)), found[layer.id], j.timezone, _linker(request))
        for layer in layers
    ]


@_get("/collections", JSON, "Collections")
async def all_collections(request: Request, here: Here, f: Form = None) -> Response:
    """Every collection: published projects, districts, and where works meet."""

    async def make(db: Database, form: str) -> dict[str, Any]:
        return {
            "links": _links(request, form, JSON),
            "crs": [CRS84],
            "collections": await _collections(db, list(LAYERS.values()), request, here),
        }

    return await _answer(request, f, JSON, make, "collections.html", here)


@_get("/collections/{collectionId}", JSON, "A collection")
async def one_collection(request: Request, layer: TheLayer, here: Here, f: Form = None) -> Response:
    """One collection: its extent in space and time, its CRS, and links to its items."""

    async def make(db: Database, form: str) -> dict[str, Any]:
        (document,) = await _collections(db, [layer], request, here)
        return {**document, "links": _links(request, form, JSON) + document["links"][2:]}

    return await _answer(request, f, JSON, make, "collection.html", here)


@_get("/collections/{collectionId}/queryables", SCHEMA_JSON, "JSON Schema of the queryables")
async def collection_queryables(
    request: Request, layer: TheLayer, here: Here, f: Form = None
) -> Response:
    """What a filter of this collection may name, as JSON Schema; each is also a query
    parameter of its items."""
    j = here.jurisdiction

    async def make(db: Database, form: str) -> dict[str, Any]:
        return queryables(layer, j.local(title(layer, j)), _linker(request))

    return await _answer(request, f, SCHEMA_JSON, make, "queryables.html", here)


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise Problem(400, f"limit is a whole number from 1 to {MAX_LIMIT}.", param="limit")
    return int(value)


def _selection(request: Request, layer: Layer, given: dict[str, str | None]) -> Selection:
    """What the items request selects; a 400 naming the parameter at fault."""
    conditions = []
    filter_text, language = given["filter"], given["filter-lang"]
    language = "cql2-text" if language is None else language
    if language not in LANGUAGES:
        raise Problem(400, f"filter-lang is one of {', '.join(LANGUAGES)}.", param="filter-lang")
    for name in ("crs", "bbox-crs", "filter-crs"):
        _only_crs84(name, given[name])
    try:
        if filter_text is not None:
            conditions.append(condition(parse(filter_text, language), layer.queryables))
    except FilterError as error:
        raise Problem(400, str(error), param="filter") from None
    for name in parameter_queryables(layer):
        value = request.query_params.get(name)
        if value is not None:
            try:
                conditions.append(equals(name, value, layer.queryables, prefix=f"q_{name}_"))
            except FilterError as error:
                raise Problem(400, str(error), param=name) from None
    try:
        interval = parse_datetime(given["datetime"]) if given["datetime"] is not None else None
    except ValueError as error:
        raise Problem(400, str(error), param="datetime") from None
    return Selection(parse_bbox(given["bbox"]), interval, tuple(conditions))


@_get("/collections/{collectionId}/items", GEOJSON, "A page of features (FeatureCollection)")
async def items(
    request: Request,
    layer: TheLayer,
    here: Here,
    bbox: Annotated[str | None, bbox_query()] = None,
    datetime: Annotated[
        str | None,
        Query(
            description="An instant (2026-03-01, 2026-03-01T09:00:00Z) or an interval of two "
            "(start/end, '..' or nothing for an open end): the features whose period meets it "
            "(a project's: actual dates where known, else planned; districts have none)",
            json_schema_extra={"pattern": DATETIME},
        ),
    ] = None,
    limit: Annotated[
        str | None,
        Query(
            description=f"At most {MAX_LIMIT} features a page ({DEFAULT_LIMIT} unless given)",
            json_schema_extra={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="Where a page starts, as the next link of the page before gives it "
            "(one this API did not make answers 404)",
        ),
    ] = None,
    filter_text: Annotated[
        str | None,
        Query(
            alias="filter",
            json_schema_extra={"maxLength": MAX_LENGTH},
            description="A CQL2 filter comparing the collection's queryables with values "
            "(=, <>, <, <=, >, >=, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS with a geometry or "
            "BBOX), joined by AND, OR and NOT",
        ),
    ] = None,
    filter_lang: Annotated[
        str | None,
        Query(
            alias="filter-lang",
            description="The filter's encoding (cql2-text unless given)",
            json_schema_extra={"enum": list(LANGUAGES)},
        ),
    ] = None,
    filter_crs: Annotated[str | None, _crs84("filter-crs", "the filter's geometries")] = None,
    bbox_crs: Annotated[str | None, _crs84("bbox-crs", "bbox")] = None,
    crs: Crs = None,
    f: Form = None,
) -> Response:
    """A page of the collection's features as a GeoJSON FeatureCollection.

    Each of the collection's queryables (see its ``queryables``) is also a parameter:
    ``status=implementation`` keeps the features whose status is that. Follow the ``next``
    link to walk every match (keyset paging: a late page costs what the first does);
    ``numberMatched`` is given while it is cheap to count.
    """
    limit_n = _limit(limit)
    try:
        after = decode_cursor(cursor) if cursor is not None else None
    except ValueError:
        raise Problem(
            404, "cursor is not one this API made: follow the next link as given.", param="cursor"
        ) from None
    given = {"filter": filter_text, "filter-lang": filter_lang, "filter-crs": filter_crs,
             "bbox-crs": bbox_crs, "crs": crs, "datetime": datetime, "bbox": bbox}  # fmt: skip
    selection = _selection(request, layer, given)

    async def make(db: Database, form: str) -> str:
        row = await db.first(page(layer, selection, limit_n, after))
        matched, features, returned, last = row or (0, "[]", 0, None)
        links = _links(request, form, GEOJSON)
        if last is not None:
            following = this_page(request, cursor=encode_cursor(last))
            links.append(link("next", links[0]["type"], "Next page", following))
        links.append(_collection_link(request, layer))
        counted = f'"numberMatched":{matched},' if matched is not None else ""
        return (
            f'{{"type":"FeatureCollection",{counted}"numberReturned":{returned},'
            f'"links":{json.dumps(links, ensure_ascii=False)},"features":{features}}}'
        )

    return await _answer(
        request, f, GEOJSON, make, "items.html", here, CONTENT_CRS, collection=layer.id
    )


@_get("/collections/{collectionId}/items/{featureId}", GEOJSON, "A feature")
async def item(
    request: Request,
    layer: TheLayer,
    feature_id: Annotated[
        str,
        Path(
            alias="featureId",
            description="The feature's integer id (a project's code is its code property)",
            json_schema_extra={"type": "integer", "minimum": 1, "maximum": MAX_ID},
        ),
    ],
    here: Here,
    crs: Crs = None,
    f: Form = None,
) -> Response:
    """One feature, as a GeoJSON Feature."""
    missing = Problem(
        404, f"Collection {layer.id} has no feature {feature_id!r}.", param="featureId"
    )
    if not (feature_id.isascii() and feature_id.isdigit() and 0 < int(feature_id) <= MAX_ID):
        raise missing
    _only_crs84("crs", crs)

    async def make(db: Database, form: str) -> str:
        found = await db.scalar(one(layer, int(feature_id)))
        if found is None:
            raise missing
        links = [*_links(request, form, GEOJSON), _collection_link(request, layer)]
        # the Feature's text as PostGIS wrote it, with its links as the last member
        return f'{found[:-1]},"links":{json.dumps(links, ensure_ascii=False)}}}'

    return await _answer(
        request, f, GEOJSON, make, "item.html", here, CONTENT_CRS, collection=layer.id
    )
