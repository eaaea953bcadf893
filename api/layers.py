"""Map layers: the catalogue, and each layer as vector tiles, TileJSON or GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.areas import Tile, view
from api.caching import cached
from api.city import City, city
from api.database import Database
from api.links import href
from api.params import project_filter
from api.problems import Problem
from geo.filters import ProjectFilter
from layers import LAYERS, Layer
from layers.base import Style, title
from layers.render import bounds, features, tile, tilejson
from web.messages import translations

router = APIRouter(prefix="/api/layers", tags=["layers"])
MVT = "application/vnd.mapbox-vector-tile"
FEATURE_LIMIT = 5000
# Layers whose features are drawn where they are, so that a tile or view changes only with a
# write there; a district's totals change with any project of the district.
AT_THEIR_PLACE = frozenset({"projects", "conflicts"})
LayerId = Annotated[
    str, Path(description="A layer of the catalogue", json_schema_extra={"enum": list(LAYERS)})
]


def tiles_url(request: Request, layer: Layer) -> str:
    return href(request, f"/api/layers/{layer.id}/tiles/") + "{z}/{x}/{y}.mvt"


def _layer(layer_id: LayerId) -> Layer:
    try:
        return LAYERS[layer_id]
    except KeyError:
        raise Problem(
            404, f"There is no layer {layer_id!r}; known: {', '.join(LAYERS)}.", param="layer_id"
        ) from None


def _style(style: Style, here: City) -> dict[str, Any]:
    langs = here.jurisdiction.languages
    legend = [
        {"value": code, "label": entry["label"], "color": entry["color"]}
        for code, entry in (here.categories.items() if style.by_category else ())
    ] + [
        {"value": e.value, "label": translations(e.label, langs), "color": e.color}
        for e in style.legend
    ]
    hints: dict[str, Any] = {}
    if style.measures:
        hints["measures"] = {k: translations(v, langs) for k, v in style.measures.items()}
    if style.symbols:
        hints["status_symbols"] = style.symbols
    return {"property": style.property, "legend": legend, **hints}


def _entry(layer: Layer, request: Request, here: City) -> dict[str, Any]:
    return {
        "id": layer.id,
        "title": title(layer, here.jurisdiction),
        "geometry": layer.geometry,
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "properties": layer.properties,
        "style": _style(layer.style, here),
        "clustered_above": layer.cluster_above,
        "links": {
            "tiles": tiles_url(request, layer),
            "tilejson": href(request, f"/api/layers/{layer.id}/tilejson.json"),
            "features": href(request, f"/api/layers/{layer.id}/features"),
        },
    }


@router.get("")
async def catalogue(request: Request, here: Annotated[City, Depends(city)]) -> JSONResponse:
    """Every published layer: title, geometry, legend, zoom range and URL templates."""
    return JSONResponse({"layers": [_entry(layer, request, here) for layer in LAYERS.values()]})


@router.get("/{layer_id}/tilejson.json")
async def layer_tilejson(
    request: Request, layer_id: LayerId, here: Annotated[City, Depends(city)]
) -> JSONResponse:
    """TileJSON 3.0 for one layer, its bounds those of the city's districts."""
    layer = _layer(layer_id)
    titles = title(layer, here.jurisdiction)
    return JSONResponse(tilejson(layer, titles, tiles_url(request, layer), bounds(here.bounds)))


@router.get(
    "/{layer_id}/tiles/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 204: {"description": "Empty tile"}},
)
async def layer_tile(
    request: Request,
    layer_id: LayerId,
    z: Annotated[int, Path(ge=0, le=24)],
    x: Annotated[int, Path(ge=0, lt=2**24, description="Column, below 2^z (else 404)")],
    y: Annotated[int, Path(ge=0, lt=2**24, description="Row, below 2^z (else 404)")],
    where: Annotated[ProjectFilter, Depends(project_filter)],
) -> Response:
    """One Mapbox Vector Tile of the layer (made by PostGIS ST_AsMVT); 204 when empty."""
    layer = _layer(layer_id)
    for name, value in (("x", x), ("y", y)):
        if value >= 2**z:
            raise Problem(
                404,
                f"There is no tile {name}={value} at zoom {z}: {name} < 2^z = {2**z}.",
                param=name,
            )
    if not layer.minzoom <= z <= layer.maxzoom:
        raise Problem(
            404,
            f"Layer {layer.id} is published from zoom {layer.minzoom} to {layer.maxzoom}.",
            param="z",
        )

    async def produce(db: Database) -> bytes:
        data = await db.scalar(tile(layer, z, x, y, where))
        return bytes(data) if data else b""

    area = Tile(z, x, y) if layer.id in AT_THEIR_PLACE else None
    return await cached(request, MVT, produce, area=area, empty_status=204)


@router.get(
    "/{layer_id}/features",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def layer_features(
    request: Request,
    layer_id: LayerId,
    where: Annotated[ProjectFilter, Depends(project_filter)],
    limit: Annotated[int, Query(ge=1, le=FEATURE_LIMIT)] = FEATURE_LIMIT,
) -> Response:
    """The layer's features in ``bbox`` as GeoJSON; dense views come as grid clusters."""
    layer = _layer(layer_id)
    bbox = where.bbox
    query = features(layer, where, bbox, limit)
    area = view(bbox) if layer.id in AT_THEIR_PLACE else None
    return await cached(request, "application/geo+json", lambda db: db.scalar(query), area=area)
