"""The field mapping: how a file's columns become a project's fields, declared, never coded.

A mapping is a small YAML or JSON file::

    key: project_no                   # the column with each row's stable id (else a row hash)
    crs: EPSG:5186                    # the coordinates' CRS when the file names none
    geometry: {lon: x, lat: y}        # a CSV's: lon/lat columns, or {wkt: column}
    fields:
      title: name                     # a column, as is
      budget: {column: budget_kwon, scale: 1000}          # thousands of won
      status: {column: stage, values: {착공: implementation, 준공: completion}}
      planned_start: {column: start, date_format: "%Y.%m.%d"}
      category: {value: road}         # a constant

Each field is one of ``geo.project_writes.FIELDS``; each row's values are then checked by the
same rules as the write API's. ``suggest`` writes a starting mapping from the column names and
sample values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping as MappingABC
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geo.imports import ImportRefused
from geo.project_writes import ASSIGNED, FIELDS
from geo.vocab import PROJECT_TYPES, STATUSES


def refused(errors: list[tuple[str, str]]) -> ImportRefused:
    """The mapping's problems (or the file's missing columns) as one refusal."""
    return ImportRefused(
        422, "The mapping does not fit: " + "; ".join(f"{f}: {r}" for f, r in errors) + ".", errors
    )


class Field_(BaseModel):
    """One project field: from ``column`` (through ``values``, ``scale``, ``date_format``), or
    the constant ``value``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    value: Any = None
    values: dict[str, Any] | None = None  # source value (as text) -> the field's value
    scale: Decimal | None = Field(default=None, gt=0)
    date_format: str | None = None  # strptime's, e.g. %Y.%m.%d

    @model_validator(mode="after")
    def _one_source(self) -> Field_:
        if (self.column is None) == (self.value is None):
            raise ValueError("give a column or a constant value, not both nor neither")
        return self


class Geometry(BaseModel):
    """Where a table without geometry (a CSV) keeps its position."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Geometry:
        if not ((self.lon and self.lat and not self.wkt) or (self.wkt and not self.lon)):
            raise ValueError("give lon and lat columns, or a wkt column")
        return self


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str | None = None
    crs: str | None = None
    geometry: Geometry | None = None
    # the column naming each row's currency, where the file has it: a row in another currency
    # than the city's is refused, since money is never converted
    currency: str | None = None
    fields: dict[str, Field_] = Field(default_factory=dict)

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, given: Any) -> Any:
        """``title: name`` is ``title: {column: name}``."""
        if isinstance(given, MappingABC):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in given.items()}
        return given

    @field_validator("fields")
    @classmethod
    def _known(cls, given: dict[str, Field_]) -> dict[str, Field_]:
        unknown = [n for n in given if n not in FIELDS or n in ASSIGNED]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not a field of a project; fields: {', '.join(FIELDS)}"
            )
        return given

    def columns(self) -> list[str]:
        """Every column the mapping reads."""
        named = [self.key] + [f.column for f in self.fields.values()]
        if self.geometry:
            named += [self.geometry.lon, self.geometry.lat, self.geometry.wkt]
        return list(dict.fromkeys(c for c in named if c))


def parse_mapping(given: Any) -> Mapping:
    """A mapping from parsed YAML or JSON; ImportRefused naming each problem."""
    try:
        return Mapping.model_validate(given or {})
    except ValidationError as exc:
        errors = [
            (
                ".".join(str(p) for p in e["loc"]) or "mapping",
                str(e["msg"]).removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
        raise refused(errors) from None


def read_mapping(path: Path) -> Mapping:
    """A mapping file, YAML or JSON (JSON is YAML too)."""
    try:
        return parse_mapping(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise refused([("mapping", f"{path.name} is no YAML or JSON: {exc}")]) from None


def blank(value: Any) -> bool:
    """No value: None, NaN or NaT (GDAL's empty number or date), blank text, an empty list."""
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not value
    return value is None or bool(pd.isna(value))


def value_of(spec: Field_, raw: Any) -> Any:
    """A source value as the field takes it; ValueError saying why it cannot be."""
    if spec.value is not None:
        return spec.value
    if blank(raw):
        return None
    if spec.values is not None:
        return _named(spec.values, raw)
    if spec.date_format:
        try:
            return datetime.strptime(str(raw).strip(), spec.date_format).date()
        except ValueError:
            raise ValueError(f"{raw!r} is not a date in the form {spec.date_format}") from None
    if spec.scale is not None:
        try:
            number = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation:
            raise ValueError(f"{raw!r} is not a number") from None
        return number * spec.scale
    return raw.strip() if isinstance(raw, str) else raw


def _named(values: dict[str, Any], raw: Any) -> Any:
    """What ``values`` names ``raw``; of a list (an OC4IDS project's sectors), what it names
    the first item it knows."""
    texts = [str(item).strip() for item in raw] if isinstance(raw, list) else [str(raw).strip()]
    for text in texts:
        if text in values:
            return values[text]
    raise ValueError(
        f"{', '.join(map(repr, texts))} {'is' if len(texts) == 1 else 'are'} not in the "
        f"mapping's values ({', '.join(values)})"
    )


# What suggests a field: words in a column's name (English and Korean)
HINTS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "project", "사업명", "공사명", "명칭"),
    "description": ("description", "desc", "summary", "내용", "개요"),
    "category": ("category", "sector", "분야", "종류"),
    "status": ("status", "stage", "state", "상태", "단계"),
    "project_type": ("type", "유형"),
    "contractor": ("contractor", "builder", "시공", "업체"),
    "supervisor": ("supervisor", "감리"),
    "budget": ("budget", "cost", "amount", "예산", "사업비"),
    "contract_value": ("contract", "계약"),
    "spent": ("spent", "expenditure", "집행"),
    "progress_actual": ("progress", "percent", "공정", "진척"),
    "planned_start": ("start", "begin", "착공", "시작"),
    "planned_end": ("end", "finish", "complet", "준공", "완료", "종료"),
    "address": ("address", "location", "주소", "위치"),
}
KEYS = ("id", "key", "code", "no", "number")  # whole words of a column's name
KEYS_WITHIN = ("번호", "코드")  # or within it (Korean names are not split into words)
# Money columns named by their unit: budgets in thousands or millions of won
SCALES = {"천원": 1000, "백만원": 1_000_000, "thousand": 1000, "million": 1_000_000}
LON, LAT = ("lon", "lng", "long", "longitude", "x", "경도"), ("lat", "latitude", "y", "위도")


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z가-힣]+", name.lower()) if w]


def suggest(
    columns: list[str], samples: dict[str, list[Any]], *, has_geometry: bool
) -> dict[str, Any]:
    """A starting mapping (as YAML would hold it) from column names and sample values: a column
    whose name holds a field's hint maps to it, statuses whose samples are known terms as is,
    dates by the first format that reads every sample."""
    fields: dict[str, Any] = {}
    taken: set[str] = set()
    for name, hints in HINTS.items():
        for column in columns:
            lowered = column.lower()
            if column not in taken and any(h in lowered for h in hints):
                fields[name] = _suggested(name, column, samples.get(column, []))
                taken.add(column)
                break
    out: dict[str, Any] = {}
    key = next(
        (
            c
            for c in columns
            if c not in taken and (set(_words(c)) & set(KEYS) or any(k in c for k in KEYS_WITHIN))
        ),
        None,
    )
    if key:
        out["key"] = key
    if not has_geometry:
        lon = next((c for c in columns if set(_words(c)) & set(LON)), None)
        lat = next((c for c in columns if set(_words(c)) & set(LAT)), None)
        wkt = next((c for c in columns if "wkt" in c.lower() or "geom" in c.lower()), None)
        out["geometry"] = {"lon": lon, "lat": lat} if lon and lat else {"wkt": wkt or "?"}
    out["fields"] = fields
    return out


DATE_FORMATS = ("%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y")


def _suggested(name: str, column: str, samples: list[Any]) -> Any:
    seen = [str(s).strip() for s in samples if not blank(s)]
    if name in ("planned_start", "planned_end") and seen:
        for form in DATE_FORMATS:
            try:
                for s in seen:
                    datetime.strptime(s, form)
            except ValueError:
                continue
            return column if form == "%Y-%m-%d" else {"column": column, "date_format": form}
    if name in ("budget", "contract_value", "spent"):
        scale = next((n for unit, n in SCALES.items() if unit in column.lower()), None)
        if scale:
            return {"column": column, "scale": scale}
    terms = {"status": STATUSES, "project_type": PROJECT_TYPES}.get(name)
    if terms and seen and not set(seen) <= set(terms):
        return {"column": column, "values": {s: "?" for s in dict.fromkeys(seen)}}
    return column


def dumped(mapping: dict[str, Any]) -> str:
    """A suggested mapping as YAML text, for the official to finish."""
    return yaml.safe_dump(
        json.loads(json.dumps(mapping, default=str)), allow_unicode=True, sort_keys=False
    )
