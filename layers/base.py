"""What a published map layer is: its SQL source, properties, style and zoom range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from geo.filters import ProjectFilter
from geo.jurisdiction import Jurisdiction, Translations
from geo.sql import Query, identifier
from web.messages import translations

# Given the request's filter, SQL yielding rows with ``id`` (integer), ``geom`` (EPSG:4326)
# and the layer's properties. It must not apply the bbox itself.
Source = Callable[[ProjectFilter], Query]


@dataclass(frozen=True)
class LegendEntry:
    value: str
    label: str  # a message key (web/static/i18n)
    color: str


@dataclass(frozen=True)
class Style:
    """The layer is coloured by ``property``; the legend says which value gets which colour:
    ``legend``'s entries, or the stored categories with their colours (``by_category``)."""

    property: str
    legend: tuple[LegendEntry, ...] = ()
    by_category: bool = False
    measures: dict[str, str] | None = None  # properties it may be shaded by -> message key
    symbols: dict[str, str] | None = None  # how the client draws each status


@dataclass(frozen=True)
class Layer:
    id: str
    # A message key, or ``level:N`` for what the city calls its administrative level N
    title: str
    geometry: str  # "mixed" or "polygon"
    source: Source
    properties: dict[str, str]  # name -> type ("String", "Number", "Boolean"), as in TileJSON
    style: Style
    minzoom: int
    maxzoom: int
    # More features than this in one tile or view are drawn as grid clusters (count and
    # dominant style value) so every feature still shows its presence.
    cluster_above: int | None = None
    # Properties holding translations (JSONB of language -> text): objects in GeoJSON, the
    # city's default language in tiles
    translated: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Property names are written into the layer's statements: plain identifiers only."""
        for name in (*self.properties, self.style.property, *self.translated):
            identifier(name)


def title(layer: Layer, jurisdiction: Jurisdiction) -> Translations:
    """The layer's title in each of the city's languages."""
    if layer.title.startswith("level:"):
        levels = jurisdiction.levels
        level = levels[min(int(layer.title.removeprefix("level:")), len(levels)) - 1]
        return {lang: level[lang] for lang in jurisdiction.languages if lang in level}
    return translations(layer.title, jurisdiction.languages)
