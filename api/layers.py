"""Map layers: the catalogue, and each layer as vector tiles, TileJSON or GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.caching import cached
from api.database import Database, database
from api.links import href
from api.params import project_filter
from api.problems import Problem
from geo.filters import ProjectFilter
from layers import LAYERS, Layer
from layers.render import EXTENT_OF_CITY, bounds, features, tile, tilejson

router = APIRouter(prefix="/api/layers", tags=["layers"])
MVT = "application/vnd.mapbox-vector-tile"
FEATURE_LIMIT = 5000
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


def _entry(layer: Layer, request: Request) -> dict[str, Any]:
    return {
        "id": layer.id,
        "title": {"ko": layer.title_ko, "en": layer.title_en},
        "geometry": layer.geometry,
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "properties": layer.properties,
        "style": {
            "property": layer.style.property,
            "legend": [
                {"value": e.value, "label": {"ko": e.ko, "en": e.en}, "color": e.color}
                for e in layer.style.legend
            ],
            **(layer.style.extra or {}),
        },
        "clustered_above": layer.cluster_above,
        "links": {
            "tiles": tiles_url(request, layer),
            "tilejson": href(request, f"/api/layers/{layer.id}/tilejson.json"),
            "features": href(request, f"/api/layers/{layer.id}/features"),
        },
    }


@router.get("")
async def catalogue(request: Request) -> JSONResponse:
    """Every published layer: title, geometry, legend, zoom range and URL templates."""
    return JSONResponse({"layers": [_entry(layer, request) for layer in LAYERS.values()]})


@router.get("/{layer_id}/tilejson.json")
async def layer_tilejson(request: Request, layer_id: LayerId) -> JSONResponse:
    """TileJSON 3.0 for one layer."""
    layer = _layer(layer_id)
    city = bounds(await database(request).first(EXTENT_OF_CITY))
    return JSONResponse(tilejson(layer, tiles_url(request, layer), city))


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

    return await cached(request, MVT, produce, empty_status=204)


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
    return await cached(request, "application/geo+json", lambda db: db.scalar(query))
