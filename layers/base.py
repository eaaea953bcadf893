"""What a published map layer is: its SQL source, properties, style and zoom range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geo.filters import ProjectFilter
from geo.sql import Query

# Given the request's filter, SQL yielding rows with ``id`` (integer), ``geom`` (EPSG:4326)
# and the layer's properties. It must not apply the bbox itself.
Source = Callable[[ProjectFilter], Query]


@dataclass(frozen=True)
class LegendEntry:
    value: str
    ko: str
    en: str
    color: str


@dataclass(frozen=True)
class Style:
    """The layer is coloured by ``property``; ``legend`` says which value gets which colour."""

    property: str
    legend: tuple[LegendEntry, ...]
    extra: dict[str, Any] | None = None  # client hints, e.g. status symbols or measures


@dataclass(frozen=True)
class Layer:
    id: str
    title_ko: str
    title_en: str
    geometry: str  # "mixed" or "polygon"
    source: Source
    properties: dict[str, str]  # name -> type ("String", "Number", "Boolean"), as in TileJSON
    style: Style
    minzoom: int
    maxzoom: int
    # More features than this in one tile or view are drawn as grid clusters (count and
    # dominant style value) so every feature still shows its presence.
    cluster_above: int | None = None
