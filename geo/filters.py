"""Which projects a request asks for, as one SQL WHERE clause with bound parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from geo.flags import ANY_FLAG

BBox = tuple[float, float, float, float]
MAX_BUDGET = 10**16  # budgets are numeric(18, 2)


def envelopes(bbox: BBox) -> list[BBox]:
    """The box as one or two envelopes: a west edge east of the east edge crosses the
    antimeridian (as in OGC API Features), and is split there."""
    west, south, east, north = bbox
    if west <= east:
        return [bbox]
    return [(west, south, 180.0, north), (-180.0, south, east, north)]


def envelope_sql(bbox: BBox, prefix: str = "box") -> tuple[list[str], dict[str, float]]:
    """``ST_MakeEnvelope`` expressions for each envelope of ``bbox``, and their parameters."""
    sql: list[str] = []
    params: dict[str, float] = {}
    for i, box in enumerate(envelopes(bbox)):
        names = [f"{prefix}{i}_{edge}" for edge in ("w", "s", "e", "n")]
        sql.append("ST_MakeEnvelope({}, 4326)".format(", ".join(f"%({n})s" for n in names)))
        params.update(zip(names, box, strict=True))
    return sql, params


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class ProjectFilter:
    bbox: BBox | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    agency: str | None = None
    district: str | None = None
    q: str | None = None
    active_on: date | None = None
    min_budget: Decimal | None = None
    max_budget: Decimal | None = None
    flagged: bool | None = None

    def where(self, *, spatial: bool = True) -> tuple[str, dict[str, Any]]:
        """SQL over ``projects p``; ``spatial=False`` leaves the bbox out (for district totals)."""
        clauses = ["p.published"]
        params: dict[str, Any] = {}
        if spatial and self.bbox:
            boxes, box_params = envelope_sql(self.bbox)
            hits = [f"(p.geom && {box} AND ST_Intersects(p.geom, {box}))" for box in boxes]
            clauses.append(f"({' OR '.join(hits)})")
            params.update(box_params)
        if self.categories:
            clauses.append("p.category = ANY(%(categories)s)")
            params["categories"] = list(self.categories)
        if self.statuses:
            clauses.append("p.status = ANY(%(statuses)s)")
            params["statuses"] = list(self.statuses)
        if self.agency:
            clauses.append("p.agency_code = %(agency)s")
            params["agency"] = self.agency
        if self.district:
            clauses.append("p.district_code = %(district)s")
            params["district"] = self.district
        if self.q:
            clauses.append("p.search_text LIKE %(q)s")
            params["q"] = like_pattern(self.q)
        if self.active_on:
            clauses.append(
                "p.status <> 'cancelled' AND coalesce(p.actual_start, p.planned_start) <= "
                "%(active_on)s AND coalesce(p.actual_end, p.planned_end) >= %(active_on)s"
            )
            params["active_on"] = self.active_on
        if self.min_budget is not None:
            clauses.append("p.budget >= %(min_budget)s")
            params["min_budget"] = self.min_budget
        if self.max_budget is not None:
            clauses.append("p.budget <= %(max_budget)s")
            params["max_budget"] = self.max_budget
        if self.flagged is not None:
            clauses.append(ANY_FLAG if self.flagged else f"NOT {ANY_FLAG}")
        return " AND ".join(clauses), params
