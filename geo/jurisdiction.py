"""The city a portal discloses: its boundaries, names, languages, money, time zone and codes.

A jurisdiction is data: ``allimi city init`` reads it from a small TOML file (Seoul's is
``data/seoul/city.toml``) or from options, checks every value, and stores it in one
transaction (the ``jurisdiction`` row, its districts and neighbourhoods, and its vocabulary
labels). Everything that differs between cities is read from there.
"""

from __future__ import annotations

import json
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from babel.numbers import list_currencies
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection, text

from geo.boundaries import LevelSource, read_levels, store_areas
from geo.errors import AllimiError
from geo.settings import DATA_DIR
from geo.sql import Query
from geo.vocab import CATEGORY_CODE, OwnCategory, store_vocabulary
from web.messages import languages as languages_offered

SEOUL = DATA_DIR / "seoul" / "city.toml"
CODE_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,11}$")
# The licence of a city that names none: the open licence most open-data portals use, which
# asks for attribution only
CC_BY, CC_BY_URL = "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"

Translations = dict[str, str]  # language -> text


def _check_languages(values: Any) -> Any:
    if isinstance(values, dict):
        unknown = sorted(set(values) - set(languages_offered()))
        if unknown:
            raise ValueError(
                f"unknown language {unknown[0]!r}; valid: {', '.join(languages_offered())}"
            )
    return values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(Strict):
    """One administrative level: what it is called, and where its areas and names are."""

    label: Translations = Field(description='What the level is called ("gu", "quận").')
    code: str = Field(description="The field holding each area's code.")
    name: Translations = Field(description="Language -> the field holding the area's name.")
    file: Path | None = Field(default=None, description="Its own file (default: boundaries).")

    _languages = field_validator("label", "name", mode="before")(_check_languages)


class CategoryConfig(Strict):
    code: Annotated[str, Field(pattern=CATEGORY_CODE)]
    oc4ids: str = Field(description="The OC4IDS projectSector code it maps to.")
    color: Annotated[str, Field(pattern=r"^#[0-9a-f]{6}$")]
    label: Translations

    _languages = field_validator("label", mode="before")(_check_languages)


class Licence(Strict):
    """The licence the city publishes its data under."""

    name: Translations = Field(description="Language -> its name.")
    url: str = Field(description="Its terms (http or https).")

    _languages = field_validator("name", mode="before")(_check_languages)

    @field_validator("name")
    @classmethod
    def _named(cls, values: Translations) -> Translations:
        if not values:
            raise ValueError("the licence has no name; give it in at least one language")
        empty = [lang for lang, text_ in values.items() if not text_.strip()]
        if empty:
            raise ValueError(f"the name in {empty[0]!r} is empty")
        return values

    @field_validator("url")
    @classmethod
    def _web(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http or https URL")
        return value


def _cc_by(city: dict[str, Any]) -> Licence:
    """CC BY 4.0, under that name in each of the city's languages."""
    return Licence(name=dict.fromkeys(city["languages"], CC_BY), url=CC_BY_URL)


class City(Strict):
    """What ``allimi city init`` takes (the TOML file's keys)."""

    name: Translations
    code_prefix: str = Field(description="Project codes start with it: PREFIX-2026-000001.")
    currency: str
    timezone: str
    languages: list[str] = Field(min_length=1, description="Offered; the first is the default.")
    boundaries: Path
    levels: list[Level] = Field(min_length=1, max_length=2)
    repair: bool = Field(default=False, description="Repair invalid rings (make_valid).")
    attribution: str = Field(default="", description="Whom the boundaries come from.")
    demo_catalogue: str | None = Field(
        default=None, description="The demo's catalogue of real agencies (seoul), if any."
    )
    categories: list[CategoryConfig] = Field(default_factory=list)
    licence: Licence = Field(
        default_factory=_cc_by,
        description=f"The licence of the published data; when none is named, {CC_BY} "
        f"({CC_BY_URL}), so named in every language.",
    )

    _languages = field_validator("name", mode="before")(_check_languages)

    @field_validator("languages")
    @classmethod
    def _offered(cls, values: list[str]) -> list[str]:
        _check_languages(dict.fromkeys(values, ""))
        if len(set(values)) != len(values):
            raise ValueError("a language is listed twice")
        return values

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in list_currencies():
            raise ValueError(
                f"unknown currency {value!r}; valid ISO 4217 codes: "
                f"{', '.join(sorted(list_currencies()))}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone {value!r}; give an IANA name like Asia/Seoul")
        return value

    @field_validator("code_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not CODE_PREFIX.match(value):
            raise ValueError(f"{value!r} is not 1-12 capital letters or digits, a letter first")
        return value

    @field_validator("demo_catalogue")
    @classmethod
    def _catalogue(cls, value: str | None) -> str | None:
        if value not in (None, "seoul"):
            raise ValueError(f"unknown demo catalogue {value!r}; valid: seoul")
        return value

    @model_validator(mode="after")
    def _default_language_given(self) -> City:
        default = self.languages[0]
        named = {"the city's name": self.name, "the licence's name": self.licence.name}
        for n, level in enumerate(self.levels, 1):
            named[f"level {n}'s label"] = level.label
            named[f"level {n}'s name field"] = level.name
        missing = [what for what, values in named.items() if default not in values]
        if missing:
            raise ValueError(f"{missing[0]} is not given in the default language {default!r}")
        return self

    def sources(self) -> list[LevelSource]:
        return [
            LevelSource(level.file or self.boundaries, level.code, dict(level.name))
            for level in self.levels
        ]


def _problem(error: ValidationError, origin: str) -> AllimiError:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the file"
    message = str(first["msg"]).removeprefix("Value error, ")
    return AllimiError(f"{origin}: {where}: {message}.")


def parse_city(values: dict[str, Any], origin: str, base: Path | None = None) -> City:
    """A City from plain values; relative file paths are taken from ``base``."""
    if base is not None:
        values = dict(values)
        if "boundaries" in values:
            values["boundaries"] = base / values["boundaries"]
        values["levels"] = [
            {**level, "file": base / level["file"]} if "file" in level else level
            for level in values.get("levels", [])
        ]
    try:
        return City.model_validate(values)
    except ValidationError as exc:
        raise _problem(exc, origin) from None


def read_city(path: Path) -> City:
    """The City of a TOML file; its files are relative to the file's folder."""
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AllimiError(f"{path} cannot be read ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise AllimiError(f"{path.name} is not valid TOML ({exc}).") from None
    return parse_city(values, path.name, path.parent)


def init_city(conn: Connection, city: City, *, drop_sample: bool = False) -> int:
    """Store ``city`` (boundaries, jurisdiction and vocabulary) in an empty portal; returns how
    many districts it has. Refuses a database that holds projects, unless they are all
    synthetic samples and ``drop_sample`` says to remove them."""
    real, sample = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE NOT is_sample), count(*) FILTER (WHERE is_sample) "
            "FROM projects"
        )
    ).one()
    if real:
        raise AllimiError(
            f"The database holds {real + sample:,} projects; a city is set up in an empty portal."
        )
    if sample and not drop_sample:
        raise AllimiError(
            f"The database holds {sample:,} synthetic sample projects; a city is set up in an "
            "empty portal (--drop-sample removes them first)."
        )
    conn.execute(text("DELETE FROM projects WHERE is_sample"))
    areas = read_levels(city.sources(), repair=city.repair)
    conn.execute(text("DELETE FROM agencies"))
    store_areas(conn, areas)
    conn.execute(
        text(
            """
            INSERT INTO jurisdiction (name, languages, currency, timezone, code_prefix, levels,
                                      attribution, demo_catalogue, licence)
            VALUES (CAST(:name AS jsonb), :languages, :currency, :timezone, :prefix,
                    CAST(:levels AS jsonb), :attribution, :catalogue, CAST(:licence AS jsonb))
            ON CONFLICT (singleton) DO UPDATE SET
                name = excluded.name, languages = excluded.languages,
                currency = excluded.currency, timezone = excluded.timezone,
                code_prefix = excluded.code_prefix, levels = excluded.levels,
                attribution = excluded.attribution, demo_catalogue = excluded.demo_catalogue,
                licence = excluded.licence
            """
        ),
        {
            "name": json.dumps(city.name, ensure_ascii=False),
            "languages": city.languages,
            "currency": city.currency,
            "timezone": city.timezone,
            "prefix": city.code_prefix,
            "levels": json.dumps([level.label for level in city.levels], ensure_ascii=False),
            "attribution": city.attribution,
            "catalogue": city.demo_catalogue,
            "licence": city.licence.model_dump_json(),
        },
    )
    store_vocabulary(
        conn,
        city.languages,
        [OwnCategory(c.code, c.oc4ids, c.color, c.label) for c in city.categories],
    )
    return sum(1 for a in areas if a.level == 1)


class Jurisdiction(Strict):
    """The stored jurisdiction, as the API and the demo read it."""

    name: Translations
    languages: list[str]
    currency: str
    timezone: str
    code_prefix: str
    levels: list[Translations]
    attribution: str
    demo_catalogue: str | None
    licence: Licence

    @property
    def language(self) -> str:
        return self.languages[0]

    def local(self, values: Translations | None) -> str:
        """``values`` in the default language, or any it has."""
        values = values or {}
        return values.get(self.language) or next(iter(values.values()), "")


STORED = (
    "SELECT name, languages, currency, timezone, code_prefix, levels, attribution, "
    "demo_catalogue, licence FROM jurisdiction"
)


def stored_jurisdiction(conn: Connection) -> Jurisdiction | None:
    row = conn.execute(text(STORED)).mappings().first()
    return Jurisdiction.model_validate(dict(row)) if row else None


# Everything a client needs about the city, as one JSON document (text): the jurisdiction
# (null before ``allimi city init``), the districts' extent, categories and terms.
CITY = Query.compose(
    """
    SELECT json_build_object(
        'jurisdiction', (SELECT row_to_json(j) FROM ({stored}) j),
        'bounds', (SELECT json_build_array(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e))
                   FROM (SELECT ST_Extent(geom)::geometry AS e FROM districts
                         WHERE level = 1) x WHERE e IS NOT NULL),
        'categories', (SELECT coalesce(json_object_agg(code, json_build_object(
                           'oc4ids', oc4ids, 'color', color, 'label', label) ORDER BY position),
                       '{{}}') FROM categories),
        'terms', (SELECT coalesce(json_object_agg(vocabulary, codes), '{{}}') FROM (
            SELECT vocabulary, json_object_agg(code, json_build_object(
                       'oc4ids', oc4ids, 'label', label) ORDER BY position) AS codes
            FROM terms GROUP BY vocabulary) t)
    )::text
    """,
    stored=STORED,
)
# The agencies with published projects, by code: (code, name {language: text})
AGENCIES = Query(
    "SELECT code, name FROM agencies a WHERE EXISTS "
    "(SELECT 1 FROM projects p WHERE p.agency_code = a.code AND p.published) ORDER BY code"
)


def district_of(geometry: Query) -> Query:
    """The district holding most of a geometry (an EPSG:4326 SQL expression), as a scalar
    subquery; NULL when none holds any of it."""
    return Query.compose(
        """
        (SELECT d.code FROM districts d WHERE d.level = 1 AND ST_Intersects(d.geom, {g})
         ORDER BY CASE ST_Dimension({g})
                      WHEN 0 THEN 0
                      WHEN 1 THEN -ST_Length(ST_Intersection(d.geom, {g}))
                      ELSE -ST_Area(ST_Intersection(d.geom, {g})) END, d.code
         LIMIT 1)
        """,
        g=geometry,
    )


def placement_of(geometry: Query) -> Query:
    """Where a geometry (a SQL expression of an EPSG:4326 geometry) falls: one row of
    ``inside`` (wholly within the city's districts) and ``district`` (the district holding most
    of it; NULL outside)."""
    return Query.compose(
        """
        WITH g AS (SELECT {geometry} AS g)
        SELECT coalesce(ST_CoveredBy(g.g, (SELECT ST_Union(d.geom) FROM districts d
                                           WHERE d.level = 1 AND d.geom && g.g)), false)
               AS inside,
               {district} AS district
        FROM g
        """,
        geometry=geometry,
        district=district_of(Query("g.g")),
    )


def placement(geojson: str) -> Query:
    """``placement_of`` a GeoJSON text in EPSG:4326."""
    return placement_of(Query("ST_GeomFromGeoJSON(%(geojson)s)", {"geojson": geojson}))
