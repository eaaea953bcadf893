"""What a published map layer is: its SQL source, properties, style and zoom range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from geo.cql2 import KINDS, Queryable
from geo.filters import ProjectFilter
from geo.jurisdiction import Jurisdiction, Translations
from geo.sql import Query, identifier
from layers.prepared import Cells, Prepared
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
class Attribute:
    """A property of the layer's features as OGC API Features serves them: the column of the
    same name of the layer's source. ``kind`` is a CQL2 kind (``geo.cql2.KINDS``): a filter may
    name it; or ``translations``, a JSONB object of language -> text, which it may not.
    ``values`` are its codes when they are fixed."""

    kind: str
    description: str
    values: tuple[str, ...] = ()


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
    # As a collection of OGC API Features: what it holds, its features' properties, and the
    # columns of its source holding each feature's first and last day (None: timeless)
    description: str = ""
    attributes: dict[str, Attribute] = field(default_factory=dict)
    period: tuple[str, str] | None = None
    # Map tables triggers keep, drawn from when they can answer the request's filter: the
    # rows, and the clusters of dense tiles and views
    prepared: Prepared | None = None
    cells: Cells | None = None
    # Timeless features lying where the city's works may (its districts and the geometry
    # margin around them): the collection's extent is that, not measured at each request (a
    # city has tens of millions of conflicts)
    within_city: bool = False

    def __post_init__(self) -> None:
        """Property names are written into the layer's statements: plain identifiers only."""
        for name in (*self.properties, self.style.property, *self.translated, *self.attributes):
            identifier(name)
        if self.within_city and self.period:
            raise ValueError(f"layer {self.id}: an extent of the city's is timeless")
        for column in self.period or ():
            identifier(column)
        for name, attribute in self.attributes.items():
            if attribute.kind not in (*KINDS, "translations"):
                raise ValueError(f"{name}: {attribute.kind!r} is not a kind of property")

    @cached_property
    def queryables(self) -> dict[str, Queryable]:
        """What a filter may name: the feature's id, its geometry and its queryable
        properties, each a column of the source."""
        found = {"id": Queryable("id", "integer"), "geometry": Queryable("geom", "geometry")}
        for name, attribute in self.attributes.items():
            if attribute.kind != "translations":
                found[name] = Queryable(name, attribute.kind)
        return found


def title(layer: Layer, jurisdiction: Jurisdiction) -> Translations:
    """The layer's title in each of the city's languages."""
    if layer.title.startswith("level:"):
        levels = jurisdiction.levels
        level = levels[min(int(layer.title.removeprefix("level:")), len(levels)) - 1]
        return {lang: level[lang] for lang in jurisdiction.languages if lang in level}
    return translations(layer.title, jurisdiction.languages)
