"""Officials' writes to projects: create, edit (publish) and withdraw, each with its change-log
entry in the caller's transaction.

Each write is steps of one transaction (``geo.transaction``: the API runs them on its event
loop, the command with ``run(conn, ...)``), so the project, its log entry and the data version
move together or not at all; a refusal is a ``WriteError`` raised before anything is written,
or at worst inside the transaction, which is then rolled back.

Only published projects are logged (``geo.changelog``): a draft is not yet part of the public
record. The log is permanent, so the contact person of a project (``officer_name``,
``officer_phone``) is logged only as changed, never by value: a person's name cannot be erased
from it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints, TypeAdapter, ValidationError

from geo.changelog import REVISED, Change, appended
from geo.conflicts import FIELDS as CONFLICT_FIELDS
from geo.conflicts.store import recheck
from geo.geometry_input import GeometryError, UnknownCRS, checked_geometry
from geo.jurisdiction import STORED, Jurisdiction
from geo.sql import Query, identifier
from geo.transaction import Later, Rows, Steps
from geo.vocab import PROJECT_TYPES, STATUSES

WRITERS = ("official", "admin")
WITHHELD = "(withheld: personal contact)"
PERSONAL = ("officer_name", "officer_phone")
# A change of these needs a reason once the project is public: the disclosure shows the
# baseline beside today's value, with each change's reason.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _text(longest: int, *, empty: bool = False) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=0 if empty else 1, max_length=longest),
    ]


Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]

# The fields an official gives, by name, with their types; ``agency`` is the agency's code.
FIELDS: dict[str, Any] = {
    "title": _text(200),
    "description": _text(5000, empty=True),
    "category": _text(20),
    "project_type": Literal[tuple(PROJECT_TYPES)],
    "status": Literal[tuple(STATUSES)],
    "agency": _text(40),
    "contractor": _text(200) | None,
    "supervisor": _text(200) | None,
    "officer_name": _text(100) | None,
    "officer_phone": _text(40) | None,
    "budget": Money,
    "contract_value": Money | None,
    "spent": Money,
    "progress_actual": Percent,
    "progress_planned": Percent,
    "planned_start": date,
    "planned_end": date,
    "actual_start": date | None,
    "actual_end": date | None,
    "address": _text(300) | None,
    "published": StrictBool,
}
ADAPTERS = {name: TypeAdapter(kind) for name, kind in FIELDS.items()}
REQUIRED = (
    "title",
    "category",
    "project_type",
    "status",
    "budget",
    "planned_start",
    "planned_end",
    "geometry",
)
# What a new project has where its values say nothing (a draft, nothing spent yet)
DEFAULTS: dict[str, Any] = {
    **{name: None for name in FIELDS if name not in REQUIRED and name != "agency"},
    "description": "",
    "spent": Decimal(0),
    "progress_actual": Decimal(0),
    "progress_planned": Decimal(0),
    "published": False,
}
ASSIGNED = (
    "code",
    "currency",
    "district",
    "district_code",
    "withdrawn_at",
    "withdrawn_reason",
    "created_at",
    "updated_at",
    "id",
    "is_sample",
    "agency_code",
)
COLUMN = {name: identifier("agency_code" if name == "agency" else name) for name in FIELDS}
LONGEST_REASON = 1000

# A project as its writers see it: what a write reads before, and returns after, it changes
COLUMNS = """
    p.id, p.code, p.updated_at, p.withdrawn_at, p.currency, p.district_code,
    ST_AsGeoJSON(p.geom, 7)::json AS geometry,
    p.title, p.description, p.category, p.project_type, p.status,
    p.agency_code AS agency, p.contractor, p.supervisor, p.officer_name, p.officer_phone,
    p.budget, p.contract_value, p.spent, p.progress_actual, p.progress_planned,
    p.planned_start, p.planned_end, p.actual_start, p.actual_end, p.address, p.published
"""
PROJECT = f"SELECT {COLUMNS} FROM projects p WHERE p.code = %(code)s AND NOT p.is_sample "  # noqa: S608 - constant
# Locked for an update that keeps its key: a write re-checking conflicts (whose rows refer to
# this project) takes a key-share lock on it, which must not wait for this one while this
# write waits for that one's data version (a deadlock)
ROW = PROJECT + "FOR NO KEY UPDATE"
# Who sees projects before they are public: officials their agency's, planners and admins all
READERS = ("official", "planner", "admin")


@dataclass(frozen=True)
class Actor:
    """Who writes: an account's id, role, agency (officials) and company (contractors)."""

    user_id: int
    role: str
    agency: str | None = None
    contractor: str | None = None


class WriteError(Exception):
    """A write refused: the HTTP status it means, a sentence, and for 422 every
    (field, reason) found."""

    def __init__(
        self, status: int, detail: str, errors: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


@dataclass(frozen=True)
class Created:
    code: str
    version: str


@dataclass(frozen=True)
class Updated:
    code: str
    version: str
    changed: tuple[str, ...] = field(default=())  # the fields whose value changed


@dataclass(frozen=True)
class Withdrawn:
    code: str
    version: str


def version_of(project_id: int, updated_at: datetime) -> str:
    """A project's version tag (its ETag's value): a new one at every write."""
    return f"{project_id}-{(updated_at - EPOCH) // timedelta(microseconds=1)}"


def _may_write(actor: Actor) -> None:
    if actor.role not in WRITERS:
        raise WriteError(403, f"A {actor.role} does not write projects; officials and admins do.")


def _may_write_for(actor: Actor, agency: str) -> None:
    if actor.role == "official" and agency != actor.agency:
        raise WriteError(403, "An official writes only the projects of its own agency.")


def _city() -> Steps[Jurisdiction]:
    found = yield Query(STORED)
    if not found:
        raise WriteError(409, "No city is set up yet (allimi city init).")
    return Jurisdiction.model_validate(found[0])


def _found(rows: Rows, code: str) -> dict[str, Any]:
    """The one project of ``rows``; 404 when there is none."""
    if not rows:
        raise WriteError(404, f"There is no project {code!r}.")
    return rows[0]


def _row(code: str) -> Steps[dict[str, Any]]:
    """The project, locked until the transaction ends; 404 when there is none."""
    return _found((yield Query(ROW, {"code": code})), code)


def record_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A project's fields as the public log names them."""
    fields = {name: row[name] for name in FIELDS if name != "published"}
    fields.update(currency=row["currency"], district=row["district_code"], geometry=row["geometry"])
    return fields


def shown(name: str, value: Any) -> Any:
    """A field's value as the public log shows it: a person's contact only as given or not."""
    return WITHHELD if name in PERSONAL and value is not None else value


def baseline_of(row: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Every field of a project entering the public record, as (None, value)."""
    return {k: (None, shown(k, v)) for k, v in record_of(row).items()}


def _reason_of(error: ValidationError) -> str:
    first = error.errors()[0]
    return str(first["msg"]).removeprefix("Value error, ")


class _Checker:
    """Collects every problem of the values given, field by field."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fields(self, values: Mapping[str, Any]) -> Steps[dict[str, Any]]:
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name == "geometry":
                continue
            if name in ASSIGNED:
                self.errors.append((name, "it is assigned by the portal, not given"))
            elif name not in ADAPTERS:
                self.errors.append((name, "it is not a field of a project"))
            else:
                try:
                    clean[name] = ADAPTERS[name].validate_python(value)
                except ValidationError as exc:
                    self.errors.append((name, _reason_of(exc)))
        if "category" in clean:
            known = yield Query("SELECT code FROM categories ORDER BY position")
            codes = [row["code"] for row in known]
            if clean["category"] not in codes:
                self.errors.append(("category", f"unknown category; valid: {', '.join(codes)}"))
        if "agency" in clean and not (
            yield Query("SELECT FROM agencies WHERE code = %(a)s", {"a": clean["agency"]})
        ):
            self.errors.append(("agency", f"there is no agency {clean['agency']!r}"))
        return clean

    def missing(self, values: Mapping[str, Any], required: tuple[str, ...]) -> None:
        for name in required:
            if values.get(name) is None and not any(f == name for f, _ in self.errors):
                self.errors.append((name, "it is required"))

    def dates(self, record: Mapping[str, Any]) -> None:
        """The order of the dates of the project as it would be stored."""
        failed = {f for f, _ in self.errors}
        start, end = record.get("planned_start"), record.get("planned_end")
        if start and end and not failed & {"planned_start", "planned_end"} and end < start:
            self.errors.append(("planned_end", f"it is before the planned start ({start})"))
        begun, ended = record.get("actual_start"), record.get("actual_end")
        if ended and not failed & {"actual_start", "actual_end"}:
            if begun is None:
                self.errors.append(("actual_end", "an actual end needs an actual start"))
            elif ended < begun:
                self.errors.append(("actual_end", f"it is before the actual start ({begun})"))

    def geometry(self, value: Any, crs: str, repair: bool) -> Steps[tuple[str, str | None] | None]:
        """The geometry as (EWKB hex, district), or None when refused."""
        if not isinstance(value, Mapping | str):
            self.errors.append(("geometry", "give GeoJSON or WKT"))
            return None
        try:
            checked = yield from checked_geometry(value, crs=crs, repair=repair)
        except UnknownCRS as exc:
            self.errors.append(("crs", exc.reason))
            return None
        except GeometryError as exc:
            self.errors.append(("geometry", exc.reason))
            return None
        return checked.ewkb, checked.district

    def done(self) -> None:
        if self.errors:
            names = ", ".join(dict.fromkeys(f for f, _ in self.errors))
            raise WriteError(422, f"The project cannot be saved: see {names}.", self.errors)


def code_lock(year: int) -> Query:
    """The lock on ``year``'s codes, held until the transaction ends, so that concurrent
    creators (and imports) each number their own."""
    return Query(
        "SELECT pg_advisory_xact_lock(hashtext('allimi.project_code'), %(y)s);", {"y": year}
    )


def last_number(prefix: str, year: int) -> Query:
    """The last number given in ``year``'s codes (0 for none): one step back along the
    byte-ordered index of codes (migration 0013), not a scan of every project."""
    return Query(
        r"""
        SELECT coalesce((SELECT substring(code from '\d{6}$')::int FROM projects
                         WHERE code COLLATE "C" BETWEEN %(low)s AND %(high)s
                           AND code ~ %(pattern)s
                         ORDER BY code COLLATE "C" DESC LIMIT 1), 0) AS last
        """,
        {
            "low": f"{prefix}-{year}-000000",
            "high": f"{prefix}-{year}-999999",
            "pattern": rf"^{prefix}-{year}-\d{{6}}$",
        },
    )


def _next_code(prefix: str, year: int) -> Steps[str]:
    """The next free code of ``year``, under the year's lock."""
    found = yield code_lock(year) + last_number(prefix, year)
    return f"{prefix}-{year}-{found[0]['last'] + 1:06d}"


def _log(
    actor: Actor,
    action: str,
    row: Mapping[str, Any],
    fields: Mapping[str, tuple[Any, Any]],
    reason: str | None,
) -> Steps[int]:
    return appended(Change(action, row["code"], row["agency"], actor.role, dict(fields), reason))


def _checked_reason(reason: str | None, errors: list[tuple[str, str]], needed: str) -> str | None:
    reason = (reason or "").strip() or None
    if reason is None and needed:
        errors.append(("reason", needed))
    elif reason is not None and len(reason) > LONGEST_REASON:
        errors.append(("reason", f"it is longer than {LONGEST_REASON} characters"))
    return reason


def create_project(
    actor: Actor,
    values: Mapping[str, Any],
    *,
    crs: str = "EPSG:4326",
    repair: bool = False,
) -> Steps[Created]:
    """A new project (a draft unless ``values`` say ``published``), coded
    PREFIX-YYYY-NNNNNN by its planned start; a published one logs ``create`` with every field."""
    _may_write(actor)
    if actor.role == "official":
        _may_write_for(actor, values.get("agency", actor.agency) or "")
    city = yield from _city()
    check = _Checker()
    clean = yield from check.fields(values)
    if actor.role == "official":
        clean.setdefault("agency", actor.agency)
    check.missing({**clean, "geometry": values.get("geometry")}, (*REQUIRED, "agency"))
    record = {**DEFAULTS, **clean}
    check.dates(record)
    placed = None
    if values.get("geometry") is not None:
        placed = yield from check.geometry(values["geometry"], crs, repair)
    check.done()
    assert placed is not None  # done() refused a missing one
    code = yield from _next_code(city.code_prefix, record["planned_start"].year)
    columns = [COLUMN[name] for name in FIELDS]
    made = yield Query(
        f"INSERT INTO projects AS p (code, currency, district_code, updated_at, geom, "  # noqa: S608 - declared columns
        f"{', '.join(columns)}) VALUES (%(code)s, %(currency)s, %(district)s, now(), "
        f"ST_GeomFromEWKB(decode(%(geom)s, 'hex')), {', '.join(f'%({n})s' for n in FIELDS)}) "
        f"RETURNING {COLUMNS}",
        {
            **record,
            "code": code,
            "currency": city.currency,
            "geom": placed[0],
            "district": placed[1],
        },
    )
    row = made[0]
    if row["published"]:
        yield Later(recheck([row["id"]]))
        yield from _log(actor, "create", row, baseline_of(row), None)
    return Created(code, version_of(row["id"], row["updated_at"]))


def update_project(
    actor: Actor,
    code: str,
    changes: Mapping[str, Any],
    *,
    reason: str | None,
    if_version: str,
    crs: str = "EPSG:4326",
    repair: bool = False,
) -> Steps[Updated]:
    """Change some fields of a project whose version is still ``if_version`` (412 otherwise).
    ``published: true`` publishes a draft (logged ``publish`` with every field); an edit of a
    published project is logged ``edit`` with each changed field, before and after, and the
    reason, which a change of money or dates requires."""
    _may_write(actor)
    before = yield from _row(code)
    _may_write_for(actor, before["agency"])
    if version_of(before["id"], before["updated_at"]) != if_version:
        raise WriteError(412, f"Project {code} has changed since version {if_version}.")
    if before["withdrawn_at"] is not None:
        raise WriteError(
            409, f"Project {code} is withdrawn; withdrawn projects are kept as they were."
        )
    check = _Checker()
    clean = yield from check.fields(changes)
    if "agency" in clean:
        _may_write_for(actor, clean["agency"])
    if before["published"] and clean.get("published") is False:
        check.errors.append(
            ("published", "a published project is not taken back to draft; withdraw it instead")
        )
    check.missing(clean, tuple(n for n in REQUIRED if n in changes and n != "geometry"))
    check.dates({**before, **clean})
    placed = None
    if "geometry" in changes:
        placed = yield from check.geometry(changes["geometry"], crs, repair)
    elif before["geometry"] is None and clean.get("published"):
        check.errors.append(("geometry", "a project is published with its place: draw it first"))
    changed = [n for n, v in clean.items() if v != before[n]]
    needed = [n for n in REVISED if n in changed] if before["published"] else []
    reason = _checked_reason(
        reason,
        check.errors,
        f"a reason is required for a change of {', '.join(needed)}" if needed else "",
    )
    check.done()
    if not changed and placed is None:
        return Updated(code, if_version)
    sets = [f"{COLUMN[n]} = %({n})s" for n in changed]
    if placed is not None:
        sets += ["geom = ST_GeomFromEWKB(decode(%(geom)s, 'hex'))", "district_code = %(district)s"]
    returned = yield Query(
        f"UPDATE projects p SET {', '.join(sets)}, updated_at = now() "  # noqa: S608 - declared columns
        f"WHERE p.id = %(id)s RETURNING {COLUMNS}",
        {
            **{n: clean[n] for n in changed},
            "id": before["id"],
            **({"geom": placed[0], "district": placed[1]} if placed else {}),
        },
    )
    after = returned[0]
    if after["published"] and (placed is not None or set(changed) & set(CONFLICT_FIELDS)):
        yield Later(recheck([after["id"]]))
    was, now = record_of(before), record_of(after)
    differ = {k: (shown(k, was[k]), shown(k, now[k])) for k in now if was[k] != now[k]}
    if not before["published"] and after["published"]:
        yield from _log(actor, "publish", after, baseline_of(after), reason)
    elif before["published"] and differ:
        yield from _log(actor, "edit", after, differ, reason)
    version = version_of(after["id"], after["updated_at"])
    return Updated(code, version, tuple(sorted({*changed, *differ})))


def withdraw_project(
    actor: Actor, code: str, reason: str | None, *, if_version: str | None = None
) -> Steps[Withdrawn]:
    """Withdraw a project: kept and shown as withdrawn with the reason, logged ``withdraw``
    when it was published."""
    _may_write(actor)
    before = yield from _row(code)
    _may_write_for(actor, before["agency"])
    if if_version is not None and version_of(before["id"], before["updated_at"]) != if_version:
        raise WriteError(412, f"Project {code} has changed since version {if_version}.")
    if before["withdrawn_at"] is not None:
        raise WriteError(409, f"Project {code} is already withdrawn.")
    errors: list[tuple[str, str]] = []
    given = _checked_reason(reason, errors, "a withdrawal needs its reason")
    if errors:
        raise WriteError(422, "The project cannot be withdrawn: see reason.", errors)
    done = yield Query(
        "UPDATE projects SET withdrawn_at = now(), withdrawn_reason = %(reason)s, "
        "updated_at = now() WHERE id = %(id)s RETURNING updated_at",
        {"reason": given, "id": before["id"]},
    )
    if before["published"]:
        yield Later(recheck([before["id"]]))
        yield from _log(actor, "withdraw", before, {}, given)
    return Withdrawn(code, version_of(before["id"], done[0]["updated_at"]))


def _may_read(actor: Actor, agency: str) -> None:
    if actor.role not in READERS or (actor.role == "official" and actor.agency != agency):
        raise WriteError(403, f"A {actor.role} may not see this agency's unpublished work.")


def working_copy(actor: Actor, code: str) -> Steps[dict[str, Any]]:
    """A project as its writers see it, draft or published, with its version (If-Match)."""
    row = _found((yield Query(PROJECT, {"code": code})), code)
    _may_read(actor, row["agency"])
    return {**row, "version": version_of(row["id"], row["updated_at"])}


def drafts(actor: Actor) -> Steps[list[dict[str, Any]]]:
    """The unpublished projects the actor may see, last changed first."""
    _may_read(actor, actor.agency or "")
    return (
        yield Query(
            """
            SELECT p.code, p.title, p.agency_code AS agency, p.status, p.updated_at
            FROM projects p
            WHERE NOT p.published AND p.withdrawn_at IS NULL AND NOT p.is_sample
              AND (CAST(%(agency)s AS text) IS NULL OR p.agency_code = %(agency)s)
            ORDER BY p.updated_at DESC LIMIT 500
            """,
            {"agency": actor.agency if actor.role == "official" else None},
        )
    )
