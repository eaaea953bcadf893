"""The planners' workflow on a conflict, and the protected zones they draw: each step one
transaction with its public change-log entry.

A step's note is internal (the planners' and officials' own): the log records that a note was
given, never its text. What a coordination saved (days of closure, money) is public: it is
what the city shows coordination earned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StrictInt, TypeAdapter, ValidationError

from geo.changelog import Change, appended
from geo.conflicts import ACTORS, TRANSITIONS
from geo.conflicts.check import day
from geo.conflicts.store import recheck
from geo.geometry_input import GeometryError, UnknownCRS, checked_geometry
from geo.project_writes import Actor, Money, WriteError
from geo.sql import Query
from geo.transaction import Later, Steps

LONGEST_NOTE = 2000
NOTED = "(internal note)"
# Statuses whose step needs a note: why it was dismissed, how it was coordinated
NEEDS_NOTE = ("coordinated", "dismissed")
# What a coordination saved: days of closure (a century at most) and money (as budgets are)
SAVED: dict[str, TypeAdapter[Any]] = {
    "days_saved": TypeAdapter(Annotated[StrictInt, Field(ge=0, le=36_500)]),
    "money_saved": TypeAdapter(Money),
}
ROW = """
    SELECT c.id, c.kind, c.status, a.code AS a_code, a.agency_code AS a_agency,
           b.code AS b_code, b.agency_code AS b_agency, c.zone_id
    FROM conflicts c JOIN projects a ON a.id = c.a_id LEFT JOIN projects b ON b.id = c.b_id
    WHERE c.id = %(id)s FOR UPDATE OF c"""
STEP = """
    UPDATE conflicts SET status = %(status)s, note = coalesce(%(note)s, note),
           days_saved = %(days_saved)s, money_saved = %(money_saved)s, updated_at = now()
    WHERE id = %(id)s RETURNING updated_at"""


@dataclass(frozen=True)
class Stepped:
    id: int
    status: str


def _may_act(actor: Actor, row: Mapping[str, Any]) -> None:
    if actor.role not in ACTORS:
        raise WriteError(403, f"A {actor.role} does not work on conflicts; planners do.")
    if actor.role == "official" and actor.agency not in (row["a_agency"], row["b_agency"]):
        raise WriteError(
            403, "An official works on the conflicts of its own agency's projects only."
        )


def _saved(values: Mapping[str, Any], status: str, errors: list[tuple[str, str]]) -> dict:
    """What a coordination saved, checked: required for one, refused for any other step."""
    saved: dict[str, Any] = {"days_saved": None, "money_saved": None}
    for name, adapter in SAVED.items():
        value = values.get(name)
        if status != "coordinated":
            if value is not None:
                errors.append((name, "only a coordination records what it saved"))
        elif value is None:
            errors.append((name, "a coordination records what it saved (0 for nothing)"))
        else:
            try:
                saved[name] = adapter.validate_python(value)
            except ValidationError as exc:
                errors.append((name, str(exc.errors()[0]["msg"])))
    return saved


def _note(values: Mapping[str, Any], status: str, errors: list[tuple[str, str]]) -> str | None:
    note = values.get("note")
    if note is not None and not isinstance(note, str):
        errors.append(("note", "it is not text"))
        return None
    note = (note or "").strip() or None
    if note is None and status in NEEDS_NOTE:
        errors.append(("note", f"a step to {status} says why"))
    elif note is not None and (len(note) > LONGEST_NOTE or "\x00" in note):
        errors.append(("note", f"it is longer than {LONGEST_NOTE} characters or holds NUL"))
    return note


def step(actor: Actor, conflict: int, values: Mapping[str, Any]) -> Steps[Stepped]:
    """Move a conflict to ``values["status"]`` with a note (and for a coordination what it
    saved), logged as a ``conflict`` entry of its first work."""
    if actor.role not in ACTORS:
        raise WriteError(403, f"A {actor.role} does not work on conflicts; planners do.")
    unknown = sorted(set(values) - {"status", "note", "days_saved", "money_saved"})
    if unknown:
        raise WriteError(
            422, "Unknown fields.", [(n, "it is not a field of a step") for n in unknown]
        )
    found = yield Query(ROW, {"id": conflict})
    if not found:
        raise WriteError(404, f"There is no conflict {conflict}.")
    row = found[0]
    _may_act(actor, row)
    status = values.get("status")
    allowed = TRANSITIONS[row["status"]]
    if not isinstance(status, str) or status not in TRANSITIONS:
        raise WriteError(
            422, "The step names no status.", [("status", f"one of {', '.join(TRANSITIONS)}")]
        )
    if status not in allowed:
        raise WriteError(
            409,
            f"Conflict {conflict} is {row['status']}: it moves to "
            f"{', '.join(allowed) or 'nothing further'}, not to {status}.",
            [("status", f"{row['status']} does not move to {status}")],
        )
    errors: list[tuple[str, str]] = []
    note = _note(values, status, errors)
    saved = _saved(values, status, errors)
    if errors:
        names = ", ".join(dict.fromkeys(n for n, _ in errors))
        raise WriteError(422, f"The step cannot be taken: see {names}.", errors)
    yield Query(STEP, {"id": conflict, "status": status, "note": note, **saved})
    fields: dict[str, tuple[Any, Any]] = {
        "conflict": (None, conflict),
        "kind": (None, row["kind"]),
        "with": (None, row["b_code"] or f"zone {row['zone_id']}"),
        "status": (row["status"], status),
    }
    if status == "coordinated":
        fields.update({k: (None, v) for k, v in saved.items()})
    if note:
        fields["note"] = (None, NOTED)
    yield from appended(Change("conflict", row["a_code"], row["a_agency"], actor.role, fields))
    return Stepped(conflict, status)


ZONE_TYPES = ("LineString", "MultiLineString", "Polygon", "MultiPolygon")
DRAW_ZONE = """
    INSERT INTO moratoria (geom, starts, ends, reason, district_code, created_by)
    VALUES (ST_GeomFromEWKB(decode(%(geom)s, 'hex')), %(starts)s, %(ends)s, %(reason)s,
            %(district)s, %(user)s)
    RETURNING id"""
LONGEST_REASON = 1000


def draw_zone(actor: Actor, values: Mapping[str, Any], *, crs: str = "EPSG:4326") -> Steps[int]:
    """A protected zone drawn by a planner: a line or polygon, a period and a reason; the
    works in it are re-checked, and the zone is logged (``moratorium``)."""
    if actor.role != "planner":
        raise WriteError(403, f"A {actor.role} does not draw protected zones; planners do.")
    errors: list[tuple[str, str]] = []
    unknown = sorted(set(values) - {"geometry", "starts", "ends", "reason"})
    errors += [(n, "it is not a field of a protected zone") for n in unknown]
    starts = day(values, "starts", errors, required=True)
    ends = day(values, "ends", errors, required=True)
    if starts and ends and ends < starts:
        errors.append(("ends", f"it is before the start ({starts})"))
    reason = values.get("reason")
    reason = reason.strip() if isinstance(reason, str) else None
    if not reason:
        errors.append(("reason", "a protected zone says why"))
    elif len(reason) > LONGEST_REASON or "\x00" in reason:
        errors.append(("reason", f"it is longer than {LONGEST_REASON} characters or holds NUL"))
    geometry = values.get("geometry")
    placed = None
    if isinstance(geometry, Mapping) and geometry.get("type") not in ZONE_TYPES:
        errors.append(("geometry", "a protected zone is a line or a polygon"))
    elif not isinstance(geometry, Mapping | str):
        errors.append(("geometry", "give GeoJSON or WKT of a line or polygon"))
    else:
        try:
            placed = yield from checked_geometry(geometry, crs=crs, repair=False)
        except UnknownCRS as exc:
            errors.append(("crs", exc.reason))
        except GeometryError as exc:
            errors.append(("geometry", exc.reason))
    if placed is not None:
        kind = yield Query(
            "SELECT GeometryType(ST_GeomFromEWKB(decode(%(g)s, 'hex'))) AS kind", {"g": placed.ewkb}
        )
        if kind[0]["kind"] not in {t.upper() for t in ZONE_TYPES}:
            errors.append(("geometry", "a protected zone is a line or a polygon"))
    if errors:
        names = ", ".join(dict.fromkeys(n for n, _ in errors))
        raise WriteError(422, f"The zone cannot be drawn: see {names}.", errors)
    assert placed is not None and starts is not None and ends is not None
    made = yield Query(
        DRAW_ZONE,
        {"geom": placed.ewkb, "starts": starts, "ends": ends, "reason": reason,
         "district": placed.district, "user": actor.user_id},
    )  # fmt: skip
    zone = int(made[0]["id"])
    yield Later(recheck([], [zone]))
    fields = {"zone": (None, zone), "starts": (None, starts), "ends": (None, ends),
              "district": (None, placed.district)}  # fmt: skip
    yield from appended(Change("moratorium", None, None, actor.role, fields, reason))
    return zone
