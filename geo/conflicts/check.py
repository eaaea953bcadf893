"""The check of a work not yet saved: the conflicts it would have, for the officials' editor to
show before an official saves (or for an edit of a saved one, named by its code)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError

from geo.conflicts import find
from geo.disclosure import COORDINATE_DECIMALS
from geo.geometry_input import GeometryError, UnknownCRS, checked_geometry
from geo.project_writes import WriteError
from geo.sql import Query
from geo.transaction import Steps

FIELDS = ("geometry", "category", "planned_start", "planned_end", "actual_start", "actual_end",
          "code")  # fmt: skip
RESULT = f"""
    SELECT coalesce(json_agg(json_build_object(
        'type', 'Feature',
        'geometry', ST_AsGeoJSON(coalesce(b.geom, m.geom), {COORDINATE_DECIMALS})::json,
        'properties', json_build_object(
            'kind', f.kind, 'distance_m', round(f.distance_m::numeric, 1),
            'overlap_days', greatest(f.overlap_days, 0), 'gap_days', greatest(-f.overlap_days, 0),
            'b', CASE WHEN b.id IS NOT NULL THEN json_build_object(
                'code', b.code, 'title', b.title, 'category', b.category, 'status', b.status,
                'agency', b.agency_code,
                'start', coalesce(b.actual_start, b.planned_start),
                'end', coalesce(b.actual_end, b.planned_end)) END,
            'zone', CASE WHEN m.id IS NOT NULL THEN json_build_object(
                'id', m.id, 'reason', m.reason, 'start', m.starts, 'end', m.ends) END)
    ) ORDER BY f.distance_m, b.code, m.id), '[]'::json)::text AS features
    FROM ({{found}}) f LEFT JOIN projects b ON b.id = f.b_id
    LEFT JOIN moratoria m ON m.id = f.zone_id"""  # noqa: S608 - a constant


def day(
    values: Mapping[str, Any], name: str, errors: list[tuple[str, str]], *, required: bool = False
) -> date | None:
    """The date ``values`` give as ``name``; None, with the reason in ``errors``, when it is
    not one (or missing but ``required``)."""
    value = values.get(name)
    if value is None:
        if required:
            errors.append((name, "it is required"))
        return None
    try:
        return TypeAdapter(date).validate_python(value)
    except ValidationError:
        errors.append((name, "it is not a date written YYYY-MM-DD"))
        return None


def check(values: Mapping[str, Any], rules: Query, *, crs: str = "EPSG:4326") -> Steps[str]:
    """The conflicts of the work ``values`` describe, as GeoJSON features (a JSON array, text),
    each with the other work (or zone) and its geometry; 422 naming each field that is wrong."""
    errors = [(n, "it is not a field the check reads") for n in sorted(set(values) - set(FIELDS))]
    planned_start = day(values, "planned_start", errors, required=True)
    planned_end = day(values, "planned_end", errors, required=True)
    actual_start = day(values, "actual_start", errors)
    actual_end = day(values, "actual_end", errors)
    if planned_start and planned_end and planned_end < planned_start:
        errors.append(("planned_end", f"it is before the planned start ({planned_start})"))
    if actual_start and actual_end and actual_end < actual_start:
        errors.append(("actual_end", f"it is before the actual start ({actual_start})"))
    category = values.get("category")
    if not isinstance(category, str) or not category:
        errors.append(("category", "it is required"))
    else:
        known = yield Query("SELECT code FROM categories ORDER BY position")
        codes = [row["code"] for row in known]
        if category not in codes:
            errors.append(("category", f"unknown category; valid: {', '.join(codes)}"))
    code = values.get("code")
    if code is not None and (not isinstance(code, str) or len(code) > 40 or "\x00" in code):
        errors.append(("code", "it is not a project's code"))
    geometry = values.get("geometry")
    placed = None
    if not isinstance(geometry, Mapping | str):
        errors.append(("geometry", "give GeoJSON or WKT"))
    else:
        try:
            placed = yield from checked_geometry(geometry, crs=crs)
        except UnknownCRS as exc:
            errors.append(("crs", exc.reason))
        except GeometryError as exc:
            errors.append(("geometry", exc.reason))
    if errors:
        names = ", ".join(dict.fromkeys(n for n, _ in errors))
        raise WriteError(422, f"The work cannot be checked: see {names}.", errors)
    assert placed is not None and planned_start is not None and planned_end is not None
    start = actual_start or planned_start
    end = max(start, actual_end or planned_end)
    assert isinstance(category, str)
    found = find.unsaved(rules, placed.ewkb, category, start, end, code=code)
    rows = yield Query.compose(RESULT, found=found)
    return str(rows[0]["features"])
