"""OC4IDS project packages (0.9.5, ``data/oc4ids/``) read as a table, and the mapping that
imports them as they are.

A package is ``{"projects": [...], ...}``; each project is a row. Its columns are the project's
fields flattened (``budget.amount.amount``, ``period.startDate``); a list of codes (``sector``)
stays a list, and lists of objects (parties, documents, ...) are left out, but for the first
location with a geometry, which is the row's geometry. GeoJSON puts longitude first by rule, so
the CRS is EPSG:4326: a package that writes latitude first, as the standard's own example does,
is reported swapped by the import's checks, and ``--swap-axes`` swaps it.

The package is read whole (the standard library parses JSON only so), and its rows then handed
out in chunks like any other file's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from geopandas import GeoDataFrame

from geo.imports import ImportRefused
from geo.imports.mapping import Mapping, parse_mapping

KIND = "OC4IDS"
CRS = "EPSG:4326"


@dataclass(frozen=True)
class Package:
    """A package's projects as flat records, with each one's geometry (None where it has none)."""

    records: list[dict[str, Any]]
    shapes: list[shapely.Geometry | None]

    def columns(self) -> list[str]:
        return list(dict.fromkeys(name for record in self.records for name in record))

    def crs(self) -> str:
        return CRS

    def rows(self, chunk: int) -> Iterator[GeoDataFrame]:
        columns = self.columns()
        for start in range(0, len(self.records), chunk):
            yield GeoDataFrame(
                self.records[start : start + chunk],
                columns=columns,
                dtype=object,  # the values as the JSON gives them, not coerced to floats
                geometry=self.shapes[start : start + chunk],
                crs=CRS,
            )


def read_package(path: Path) -> Package:
    """The package at ``path``; ImportRefused when it is no JSON, its ``projects`` no list of
    objects, or a location's geometry no GeoJSON geometry."""
    try:
        with path.open("rb") as file:
            package = json.load(file)
    except ValueError as exc:
        raise ImportRefused(422, f"The OC4IDS package is not valid JSON: {exc}.") from None
    projects = package.get("projects") if isinstance(package, dict) else None
    if not isinstance(projects, list) or not all(isinstance(p, dict) for p in projects):
        raise ImportRefused(422, "The OC4IDS package's projects are no list of objects.")
    return Package(
        [_flat(p) for p in projects], [_geometry(p, row) for row, p in enumerate(projects, 1)]
    )


def _flat(fields: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """An object's values by dotted path; a list of objects left out, an empty list None."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        elif not isinstance(value, list):
            out[prefix + name] = value
        elif not any(isinstance(item, dict | list) for item in value):
            out[prefix + name] = value or None
    return out


def _geometry(project: dict[str, Any], row: int) -> shapely.Geometry | None:
    """The geometry of the project's first location that has one."""
    for location in project.get("locations") or []:
        given = location.get("geometry") if isinstance(location, dict) else None
        if given:
            try:
                return shapely.from_geojson(json.dumps(given))
            except shapely.errors.GEOSException as exc:
                raise ImportRefused(
                    422, f"Row {row}: the location's geometry is no GeoJSON geometry: {exc}."
                ) from None
    return None


def default_mapping(categories: dict[str, str]) -> Mapping:
    """The mapping of a package imported without one, given the stored categories (code ->
    OC4IDS sector). Codes pass as they are (Allimi's statuses and types are OC4IDS's); the
    category is the one of the first listed sector that names exactly one: a sector that
    several categories share (waterAndWaste: water and sewer) names none, and such a project is
    rejected until a mapping of its own says which it is."""
    by_sector: dict[str, list[str]] = {}
    for code, sector in categories.items():
        by_sector.setdefault(sector, []).append(code)
    return parse_mapping(
        {
            "key": "id",
            "currency": "budget.amount.currency",
            "fields": {
                "title": "title",
                "description": "description",
                "status": "status",
                "project_type": "type",
                "category": {
                    "column": "sector",
                    "values": {
                        s: codes[0] for s, codes in sorted(by_sector.items()) if len(codes) == 1
                    },
                },
                "budget": "budget.amount.amount",
                "planned_start": "period.startDate",
                "planned_end": "period.endDate",
            },
        }
    )
