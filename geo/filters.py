"""Which projects a request asks for, as one SQL WHERE clause with bound parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from geo.flags import ANY_FLAG

BBox = tuple[float, float, float, float]


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
            clauses.append(
                "p.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AND "
                "ST_Intersects(p.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"
            )
            params.update(zip(("minx", "miny", "maxx", "maxy"), self.bbox, strict=True))
        if self.categories:
            clauses.append("p.category = ANY(:categories)")
            params["categories"] = list(self.categories)
        if self.statuses:
            clauses.append("p.status = ANY(:statuses)")
            params["statuses"] = list(self.statuses)
        if self.agency:
            clauses.append("p.agency_code = :agency")
            params["agency"] = self.agency
        if self.district:
            clauses.append("p.district_code = :district")
            params["district"] = self.district
        if self.q:
            clauses.append("p.search_text LIKE :q")
            params["q"] = like_pattern(self.q)
        if self.active_on:
            clauses.append(
                "p.status <> 'cancelled' AND coalesce(p.actual_start, p.planned_start) <= "
                ":active_on AND coalesce(p.actual_end, p.planned_end) >= :active_on"
            )
            params["active_on"] = self.active_on
        if self.min_budget is not None:
            clauses.append("p.budget >= :min_budget")
            params["min_budget"] = self.min_budget
        if self.max_budget is not None:
            clauses.append("p.budget <= :max_budget")
            params["max_budget"] = self.max_budget
        if self.flagged is not None:
            clauses.append(ANY_FLAG if self.flagged else f"NOT {ANY_FLAG}")
        return " AND ".join(clauses), params
