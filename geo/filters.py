"""Which projects a request asks for, as one SQL WHERE clause with bound parameters."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from geo.flags import any_flag
from geo.sql import Query, identifier

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

    def where(self, p: str = "p", prefix: str = "", *, spatial: bool = True) -> Query:
        """The clause over project rows aliased ``p``, its parameter names starting with
        ``prefix`` (two filters over two aliases, ``a`` and ``b``, fit in one statement when
        their prefixes differ); ``spatial=False`` leaves the bbox out (for district totals)."""
        identifier(p)
        if prefix:
            identifier(prefix)
        clauses = [Query(f"{p}.published")]

        def given(sql: str, name: str, value: Any) -> None:
            key = f"{prefix}{name}"
            clauses.append(Query(sql.format(p=p, key=key), {key: value}))

        if spatial and self.bbox:
            boxes, box_params = envelope_sql(self.bbox, f"{prefix}box")
            hits = [f"({p}.geom && {box} AND ST_Intersects({p}.geom, {box}))" for box in boxes]
            clauses.append(Query(f"({' OR '.join(hits)})", box_params))
        if self.categories:
            given("{p}.category = ANY(%({key})s)", "categories", list(self.categories))
        if self.statuses:
            given("{p}.status = ANY(%({key})s)", "statuses", list(self.statuses))
        if self.agency:
            given("{p}.agency_code = %({key})s", "agency", self.agency)
        if self.district:
            given("{p}.district_code = %({key})s", "district", self.district)
        if self.q:
            given("{p}.search_text LIKE %({key})s", "q", like_pattern(self.q))
        if self.active_on:
            given(
                "{p}.status <> 'cancelled' AND coalesce({p}.actual_start, {p}.planned_start) <= "
                "%({key})s AND coalesce({p}.actual_end, {p}.planned_end) >= %({key})s",
                "active_on",
                self.active_on,
            )
        if self.min_budget is not None:
            given("{p}.budget >= %({key})s", "min_budget", self.min_budget)
        if self.max_budget is not None:
            given("{p}.budget <= %({key})s", "max_budget", self.max_budget)
        if self.flagged is not None:
            clauses.append(Query(any_flag(p) if self.flagged else f"NOT {any_flag(p)}"))
        return Query(" AND ").join(clauses)

    def map_where(self, m: str, held: Collection[str]) -> Query | None:
        """The clause over rows ``m`` of a map table (migration 0017) that hold the columns
        ``held`` of ``category``, ``status`` and ``flagged_on``; None when the filter asks for
        more than those rows can tell (a budget, a search, another column). The bbox is the
        caller's."""
        identifier(m)
        asked = {
            "category": bool(self.categories),
            "status": bool(self.statuses),
            "flagged_on": self.flagged is not None,
        }
        rest = replace(self, bbox=None, categories=(), statuses=(), flagged=None)
        if rest != ProjectFilter() or any(on and c not in held for c, on in asked.items()):
            return None
        clauses = [Query("true")]
        if self.categories:
            clauses.append(
                Query(
                    f"{m}.category = ANY(%(map_categories)s)",
                    {"map_categories": list(self.categories)},
                )
            )
        if self.statuses:
            clauses.append(
                Query(f"{m}.status = ANY(%(map_statuses)s)", {"map_statuses": list(self.statuses)})
            )
        if self.flagged is not None:
            clauses.append(Query(f"{m}.flagged_on {'<=' if self.flagged else '>'} current_date"))
        return Query(" AND ").join(clauses)
