"""A file's rows as the staging table takes them: each row's values through the mapping and the
write API's field rules (every problem kept with its row and field), its stable key, and its
geometry as WKB, written as COPY's text format."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import shapely
from pydantic import ValidationError

from geo.imports.mapping import Field_, Mapping, blank, value_of
from geo.project_writes import ADAPTERS, DEFAULTS, FIELDS, REQUIRED

SEEN = 20_000  # cells whose value is kept for the rows that repeat them
STAGED = ["row", "key", "agency", *[f for f in FIELDS if f != "agency"], "srid", "source"]
TYPES = {
    **{n: "text" for n in FIELDS},
    **{n: "numeric(18,2)" for n in ("budget", "contract_value", "spent")},
    **{n: "numeric(5,2)" for n in ("progress_actual", "progress_planned")},
    **{n: "date" for n in ("planned_start", "planned_end", "actual_start", "actual_end")},
    "published": "boolean",
}


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values: list[Any]) -> str:
    """One row in COPY's text format: tab-separated, NULL as \\N, specials escaped."""
    cells = []
    for value in values:
        if value is None:
            cells.append("\\N")
        elif isinstance(value, bool):
            cells.append("t" if value else "f")
        else:
            cells.append(str(value).translate(_ESCAPES))
    return "\t".join(cells) + "\n"


class Rows:
    """The file's rows as staged values, with each field problem found on the way."""

    def __init__(
        self,
        mapping: Mapping,
        agency: str | None,
        categories: set[str],
        agencies: set[str],
        currency: str,
    ):
        self.mapping = mapping
        self.currency = currency
        self.agency = agency  # every row's, when the mapping names none
        self.categories = categories
        self.agencies = agencies
        self.rejected: list[tuple[int, str, str]] = []
        self.seen: dict[tuple[str, Any], tuple[Any, str | None]] = {}  # bounded: SEEN cells
        self.count = 0

    def values(self, number: int, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {**DEFAULTS, "published": True}
        for name, spec in self.mapping.fields.items():
            given = record.get(spec.column) if spec.column else None
            value, reason = self._field(name, spec, given)
            if reason is not None:
                self.rejected.append((number, name, reason))
            elif value is not None:
                out[name] = value
        if self.agency and "agency" not in self.mapping.fields:
            out["agency"] = self.agency
        for name in (*REQUIRED, "agency"):
            if name != "geometry" and out.get(name) is None and not self._failed(number, name):
                self.rejected.append((number, name, "it is required"))
        if out.get("category") and out["category"] not in self.categories:
            self.rejected.append((number, "category", f"unknown category {out['category']!r}"))
        if out.get("agency") and out["agency"] not in self.agencies:
            self.rejected.append((number, "agency", f"there is no agency {out['agency']!r}"))
        given = record.get(self.mapping.currency) if self.mapping.currency else None
        if not blank(given) and str(given).strip().upper() != self.currency:
            self.rejected.append(
                (number, "budget", f"it is in {given}, not the city's currency {self.currency}")
            )
        for kind in ("planned", "actual"):
            start, end = out.get(f"{kind}_start"), out.get(f"{kind}_end")
            if start and end and end < start:
                self.rejected.append(
                    (number, f"{kind}_end", f"it is before the {kind} start ({start})")
                )
        if out.get("actual_end") and not out.get("actual_start"):
            self.rejected.append((number, "actual_end", "an actual end needs an actual start"))
        return out

    def _field(self, name: str, spec: Field_, given: Any) -> tuple[Any, str | None]:
        """A field's value from its cell, or why it has none; the same cell is worked out once
        (a file repeats its statuses, dates and constants on every row)."""
        try:
            found = self.seen.get((name, given))
        except TypeError:  # an unhashable cell (an OC4IDS list)
            return self._worked_out(name, spec, given)
        if found is None:
            found = self._worked_out(name, spec, given)
            if len(self.seen) < SEEN:  # unique cells (titles) are not kept
                self.seen[(name, given)] = found
        return found

    @staticmethod
    def _worked_out(name: str, spec: Field_, given: Any) -> tuple[Any, str | None]:
        try:
            raw = value_of(spec, given)
            return (None if raw is None else ADAPTERS[name].validate_python(raw)), None
        except ValidationError as exc:
            return None, str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        except ValueError as exc:
            return None, str(exc)

    def _failed(self, number: int, name: str) -> bool:
        return any(r == number and f == name for r, f, _ in self.rejected[-len(FIELDS) :])

    def key(self, number: int, record: dict[str, Any], wkb: str | None) -> str:
        """The row's stable key: its mapped column, else a hash of what it maps (twins are
        found in the staging table, ``load.TWINS``)."""
        if self.mapping.key:
            given = record.get(self.mapping.key)
            key = "" if given is None or given != given else str(given).strip()
            if not key:
                self.rejected.append((number, self.mapping.key, "the row has no key"))
        else:
            row = {c: str(record.get(c)) for c in self.mapping.columns()}
            key = hashlib.sha256(json.dumps([row, wkb], sort_keys=True).encode()).hexdigest()[:32]
        return key


def geometries(frame: Any, mapping: Mapping) -> list[bytes | None]:
    """Each row's geometry as WKB (None where it has none), from the file's geometry or the
    mapping's lon/lat or WKT columns."""
    spec = mapping.geometry
    if spec is None:
        shapes = frame.geometry.values if "geometry" in frame else [None] * len(frame)
    elif spec.wkt:
        texts = [t if isinstance(t, str) and t.strip() else None for t in frame[spec.wkt]]
        shapes = shapely.from_wkt(texts, on_invalid="ignore")
    else:
        lon = numbers(frame[spec.lon])
        lat = numbers(frame[spec.lat])
        shapes = [
            shapely.Point(x, y) if x is not None and y is not None else None
            for x, y in zip(lon, lat, strict=True)
        ]
    return [None if s is None else shapely.to_wkb(s, output_dimension=2) for s in shapes]


def unread(record: dict[str, Any], mapping: Mapping) -> tuple[str, str] | None:
    """The column and reason when a row gives its place in columns that cannot be read (a WKT
    that is none, a longitude that is no number), so it is not taken for a row without one."""
    spec = mapping.geometry
    if spec is None:
        return None
    for column in (spec.wkt,) if spec.wkt else (spec.lon, spec.lat):
        assert column is not None  # the model requires lon and lat together
        if not blank(record.get(column)):
            if spec.wkt:
                return column, "it is no WKT geometry"
            if numbers([record[column]]) == [None]:
                return column, f"{record[column]!r} is no number"
    return None


def numbers(column: Any) -> list[float | None]:
    out: list[float | None] = []
    for value in column:
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            number = math.nan
        out.append(number if math.isfinite(number) else None)
    return out
