"""Bulk downloads of every published project, one flat row per project, with the same columns
(``COLUMNS``) in each format: GeoJSON, CSV and GeoPackage. The download page lists them.

The statements read the projects in the order they were made, along the primary key, so a
cursor hands out the first rows at once however large the city. Officers' names and
phones stay out of the bulk files: the disclosure of one project names whom to call, a file
of every official's phone number would be a directory to harvest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyogrio

from geo.disclosure import COORDINATE_DECIMALS, SHOWS_SAMPLE, feature
from geo.sql import Query, identifier

# The data's date: when anything public last changed (every write bumps it, migration 0002)
DATA_DATE = Query("SELECT changed_at FROM data_version")
# What the download page says of the data: its date, how many projects, whether a sample
FACTS = Query.compose(
    "SELECT ({date}), (SELECT count(*) FROM projects WHERE published), ({sample})",
    date=DATA_DATE,
    sample=SHOWS_SAMPLE,
)
LAYER = "projects"
ARROW_TYPES = {
    "text": pa.string(),
    "number": pa.float64(),  # GeoPackage has no decimal type; budgets are exact to 2**53
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}
CASTS = {"number": "::float8"}  # what Arrow takes for a kind, where the column differs


@dataclass(frozen=True)
class Column:
    """A column of the files: its name, its SQL over ``p`` (projects), ``a`` (agencies) and
    ``d`` (districts, outer-joined) with ``%(lang)s`` the city's language, and its kind."""

    name: str
    sql: str
    kind: str

    def __post_init__(self) -> None:
        identifier(self.name)
        if self.kind not in ARROW_TYPES:
            raise ValueError(f"{self.kind!r} is not a column kind; known: {', '.join(ARROW_TYPES)}")


COLUMNS = (
    Column("code", "p.code", "text"),
    Column("title", "p.title", "text"),
    Column("description", "p.description", "text"),
    Column("category", "p.category", "text"),
    Column("status", "p.status", "text"),
    Column("project_type", "p.project_type", "text"),
    Column("agency_code", "p.agency_code", "text"),
    Column("agency_name", "a.name ->> %(lang)s", "text"),
    Column("district_code", "p.district_code", "text"),
    Column("district_name", "d.name ->> %(lang)s", "text"),
    Column("address", "p.address", "text"),
    Column("contractor", "p.contractor", "text"),
    Column("supervisor", "p.supervisor", "text"),
    Column("currency", "p.currency", "text"),
    Column("budget", "p.budget", "number"),
    Column("contract_value", "p.contract_value", "number"),
    Column("spent", "p.spent", "number"),
    Column("progress_actual", "p.progress_actual", "number"),
    Column("progress_planned", "p.progress_planned", "number"),
    Column("planned_start", "p.planned_start", "date"),
    Column("planned_end", "p.planned_end", "date"),
    Column("actual_start", "p.actual_start", "date"),
    Column("actual_end", "p.actual_end", "date"),
    Column("withdrawn_at", "p.withdrawn_at", "timestamp"),
    Column("withdrawn_reason", "p.withdrawn_reason", "text"),
    Column("updated_at", "p.updated_at", "timestamp"),
    Column("is_sample", "p.is_sample", "boolean"),
)
# The CSV's place of each project: a point on it, and its whole geometry as WKT
CSV_COLUMNS = (
    *COLUMNS,
    Column("lon", f"round(ST_X(place.point)::numeric, {COORDINATE_DECIMALS})", "number"),
    Column("lat", f"round(ST_Y(place.point)::numeric, {COORDINATE_DECIMALS})", "number"),
    Column("wkt", f"ST_AsText(p.geom, {COORDINATE_DECIMALS})", "text"),
)
# Each column as text: JSON's forms for dates, moments and booleans (ISO 8601, true/false,
# whatever the server's DateStyle), numbers in full
AS_TEXT = {
    "text": "{sql}",
    "number": "({sql})::text",
    "date": "to_json({sql}) #>> '{{}}'",
    "timestamp": "to_json({sql}) #>> '{{}}'",
    "boolean": "to_json({sql}) #>> '{{}}'",
}

ROWS = """
    SELECT {columns}
    FROM projects p JOIN agencies a ON a.code = p.agency_code
    LEFT JOIN districts d ON d.code = p.district_code
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(p.geom) AS point) place
    WHERE p.published
    ORDER BY p.id
    """


def _rows(columns: str, lang: str) -> Query:
    return Query.compose(ROWS, {"lang": lang}, columns=columns)


def geojson_rows(lang: str) -> Query:
    """Each project as a GeoJSON Feature (text, column ``feature``) with the flat properties."""
    pairs = ", ".join(f"'{c.name}', {c.sql}" for c in COLUMNS)
    return _rows(f"{feature(f'json_build_object({pairs})')}::text AS feature", lang)


def csv_rows(lang: str) -> Query:
    """Each project's ``CSV_COLUMNS`` as text, NULL where there is no value."""
    columns = (f"{AS_TEXT[c.kind].format(sql=c.sql)} AS {c.name}" for c in CSV_COLUMNS)
    return _rows(", ".join(columns), lang)


def geopackage_rows(lang: str) -> Query:
    """Each project's ``COLUMNS`` as values of their Arrow types, and its geometry as WKB
    (column ``geometry``)."""
    values = [f"{c.sql}{CASTS.get(c.kind, '')} AS {c.name}" for c in COLUMNS]
    return _rows(", ".join([*values, "ST_AsBinary(p.geom) AS geometry"]), lang)


SCHEMA = pa.schema([*((c.name, ARROW_TYPES[c.kind]) for c in COLUMNS), ("geometry", pa.binary())])


def _table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    arrays = [pa.array([row[f.name] for row in rows], type=f.type) for f in SCHEMA]
    return pa.table(arrays, schema=SCHEMA)


def write_geopackage(path: Path, chunks: Iterable[Sequence[dict[str, Any]]]) -> None:
    """A GeoPackage at ``path`` with one layer, ``projects`` (EPSG:4326), of the rows of
    ``geopackage_rows`` that ``chunks`` hand over: written in one session of GDAL, which builds
    the spatial index once, at the end."""
    batches = (batch for rows in chunks for batch in _table(rows).to_batches())
    pyogrio.write_arrow(
        pa.RecordBatchReader.from_batches(SCHEMA, batches),
        path,
        layer=LAYER,
        driver="GPKG",
        geometry_name="geometry",
        geometry_type="Unknown",  # points, lines and polygons in one layer
        crs="EPSG:4326",
        # GeoPackage 1.2: read by every GDAL and QGIS in use, without a warning
        dataset_options={"VERSION": "1.2"},
    )
