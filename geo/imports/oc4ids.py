"""OC4IDS project packages (0.9.5, ``data/oc4ids/``) read as a table, with each project's
history, and the mapping that imports them as they are.

A package is ``{"projects": [...], ...}``; each project is a row. Its columns are the project's
fields flattened (``budget.amount.amount``, ``period.startDate``); a list of codes (``sector``)
stays a list, and lists of objects are left out, but for the first location with a geometry,
which is the row's geometry. GeoJSON puts longitude first by rule, so the CRS is EPSG:4326: a
package that writes latitude first, as the standard's own example does, is reported swapped by
the import's checks, and ``--swap-axes`` swaps it.

What the lists say is read into columns of its own (present where the package says it):

- ``contractingProcesses[construction].supplier``, ``...[supervision].supplier``: the first
  supplier of the contract of that nature (construction: else the first of no nature);
- ``contractingProcesses[construction].contractValue``: its value now, the value first known
  with each change of its ``modifications`` applied;
- ``parties[publicAuthority].contactPoint.name`` and ``.telephone``;
- ``metrics[physicalProgress]``, ``metrics[financialProgress]`` (an amount) and
  ``forecasts[physicalProgress]``: the figure now, an observation without a date (id
  ``current``) else the last one;
- ``locations[].address.streetAddress``: the first location's that has one.

Each project's history (``History``) comes with it: a progress report for each date of an
actual observation (physical or financial), each figure as of its latest observation on or
before that date (a forecast has dates of its own), or 0 before the first; its documents that
have a URL (one without is a text summary there is nothing to link to); and its cost and
schedule changes, the ``modifications`` of the construction contract (with the budget changes
Allimi adds, ``allimi.oldBudget``), one change of the record for each run of modifications of
one date and one reason. Money anywhere in another currency than the budget's refuses the
project, as money is never converted, and so does a synthetic sample project of a demo
(``allimi.sample``).

The package is read whole (the standard library parses JSON only so), numbers exactly, and its
rows then handed out in chunks like any other file's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from pathlib import Path
from typing import Any

import shapely
from geopandas import GeoDataFrame
from pydantic import ValidationError

from geo.imports import ImportRefused
from geo.imports.mapping import Mapping, parse_mapping
from geo.oc4ids.codes import CONSTRUCTION, FINANCIAL, PHYSICAL, SUPERVISION, codelist
from geo.project_writes import ADAPTERS
from geo.reports import ADAPTERS as REPORT_ADAPTERS

KIND = "OC4IDS"
CRS = "EPSG:4326"
CONSTRUCTION_SUPPLIER = f"contractingProcesses[{CONSTRUCTION}].supplier"
CONTRACT_VALUE = f"contractingProcesses[{CONSTRUCTION}].contractValue"
SUPERVISION_SUPPLIER = f"contractingProcesses[{SUPERVISION}].supplier"
CONTACT = "parties[publicAuthority].contactPoint"
ACTUAL, SPENT, PLANNED = f"metrics[{PHYSICAL}]", f"metrics[{FINANCIAL}]", f"forecasts[{PHYSICAL}]"
ADDRESS = "locations[].address.streetAddress"


@dataclass(frozen=True)
class Revision:
    """A change of the record: the fields it changed (field -> (before, after)), its reason,
    and when the package says it was recorded."""

    fields: dict[str, tuple[Any, Any]]
    reason: str | None
    recorded_at: str | None


@dataclass
class History:
    """What a project brings beside its fields, and what is wrong with it (field, reason)."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Package:
    """A package's projects as flat records, with each one's geometry (None where it has
    none) and history."""

    records: list[dict[str, Any]]
    shapes: list[shapely.Geometry | None]
    histories: list[History]

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
            package = json.load(file, parse_float=Decimal)
    except ValueError as exc:
        raise ImportRefused(422, f"The OC4IDS package is not valid JSON: {exc}.") from None
    projects = package.get("projects") if isinstance(package, dict) else None
    if not isinstance(projects, list) or not all(isinstance(p, dict) for p in projects):
        raise ImportRefused(422, "The OC4IDS package's projects are no list of objects.")
    read = [_Project(p) for p in projects]
    return Package(
        [{**_flat(p), **r.columns} for p, r in zip(projects, read, strict=True)],
        [_geometry(p, row) for row, p in enumerate(projects, 1)],
        [r.history for r in read],
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
    for location in _objects(project.get("locations")):
        given = location.get("geometry")
        if given:
            try:
                return shapely.from_geojson(json.dumps(given, default=float))
            except shapely.errors.GEOSException as exc:
                raise ImportRefused(
                    422, f"Row {row}: the location's geometry is no GeoJSON geometry: {exc}."
                ) from None
    return None


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one: a package of the wrong shape is read
    as far as it holds what the standard says."""
    return value if isinstance(value, dict) else {}


def _numbered(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a list with their places in it (from 1, to name them in a problem);
    nothing for anything but a list."""
    items = value if isinstance(value, list) else []
    return [(n, item) for n, item in enumerate(items, 1) if isinstance(item, dict)]


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for _, item in _numbered(value)]


def _text(value: Any) -> str | None:
    """Text that is not blank, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _day(value: Any) -> date | None:
    """The date a date-time begins with (``2026-03-01T00:00:00Z``), None for none; ValueError
    for text that is no date."""
    if value is None:
        return None
    return date.fromisoformat(str(value)[:10])


def _as_of(found: dict[date | None, Any], on: date) -> Any:
    """The figure of the latest observation dated on or before ``on``; 0 before the first."""
    days = [d for d in found if d is not None and d <= on]
    return found[max(days)] if days else Decimal(0)


class _Project:
    """One project's lists read: the columns they give (``columns``) and its ``history``."""

    def __init__(self, project: dict[str, Any]):
        self.project = project
        self.columns: dict[str, Any] = {}
        self.history = History()
        self.notes: dict[date, str] = {}  # a report's note, from its actual observation
        self.currency = _object(_object(project.get("budget")).get("amount")).get("currency")
        self.parties = {p["id"]: p for p in _objects(project.get("parties")) if _text(p.get("id"))}
        processes = [
            _object(p.get("summary")) for p in _objects(project.get("contractingProcesses"))
        ]
        construction = self._of_nature(processes, CONSTRUCTION)
        supervision = self._of_nature(processes, SUPERVISION)
        if construction is None:
            construction = next((p for p in processes if not p.get("nature")), None)
        self._supplier(construction, CONSTRUCTION_SUPPLIER)
        self._supplier(supervision, SUPERVISION_SUPPLIER)
        self._contact()
        self._address()
        self._revisions(construction or {})
        self._progress()
        self._documents()
        if _object(project.get("allimi")).get("sample") is True:
            self._problem("allimi.sample", "it is a synthetic sample project, not a real one")

    @staticmethod
    def _of_nature(processes: list[dict[str, Any]], nature: str) -> dict[str, Any] | None:
        for process in processes:
            if isinstance(process.get("nature"), list) and nature in process["nature"]:
                return process
        return None

    def _party(self, reference: Any) -> dict[str, Any]:
        """The party an organisation reference names (an empty object for none)."""
        named = _object(reference).get("id")
        return self.parties.get(named, {}) if isinstance(named, str) else {}

    def _problem(self, name: str, reason: str) -> None:
        self.history.problems.append((name, reason))

    def _amount(self, value: Any, where: str) -> Decimal | None:
        """A Value's amount, as money; a problem when it is none or in another currency."""
        if not isinstance(value, dict) or value.get("amount") is None:
            return None
        currency = value.get("currency")
        if currency is not None and currency != self.currency:
            self._problem(where, f"it is in {currency}, not {self.currency} as the budget")
            return None
        try:
            amount: Decimal = ADAPTERS["budget"].validate_python(value["amount"])
        except ValidationError as exc:
            self._problem(where, str(exc.errors()[0]["msg"]))
            return None
        return amount

    def _supplier(self, process: dict[str, Any] | None, column: str) -> None:
        for supplier in _objects((process or {}).get("suppliers"))[:1]:
            name = _text(supplier.get("name")) or _text(self._party(supplier).get("name"))
            if name:
                self.columns[column] = name

    def _contact(self) -> None:
        contact = _object(self._party(self.project.get("publicAuthority")).get("contactPoint"))
        for name in ("name", "telephone"):
            if _text(contact.get(name)):
                self.columns[f"{CONTACT}.{name}"] = contact[name]

    def _address(self) -> None:
        for location in _objects(self.project.get("locations")):
            street = _text(_object(location.get("address")).get("streetAddress"))
            if street:
                self.columns[ADDRESS] = street
                return

    def _revisions(self, construction: dict[str, Any]) -> None:
        """The construction contract's changes (and the budget's) as changes of the record;
        its value now in ``CONTRACT_VALUE``."""
        changes = []
        for number, modification in _numbered(construction.get("modifications")):
            where = f"modifications[{number}]"
            recorded_at, reason = modification.get("date"), modification.get("rationale")
            try:
                changed = self._changed(modification, where)
                if recorded_at is not None:
                    datetime.fromisoformat(str(recorded_at))
            except ValueError:
                self._problem(where, "its date or its contract periods' dates are no dates")
                continue
            if reason is not None and not isinstance(reason, str):
                self._problem(where, "its rationale is no text")
            elif changed:
                changes.append((recorded_at, reason, changed))
        value = self._amount(construction.get("contractValue"), CONTRACT_VALUE)
        for (recorded_at, reason), run in groupby(changes, key=lambda c: (c[0], c[1])):
            fields: dict[str, tuple[Any, Any]] = {}
            for _, _, changed in run:
                fields.update(changed)
            self.history.revisions.append(Revision(fields, reason, recorded_at))
            value = fields.get("contract_value", (None, value))[1]
        if value is not None:
            self.columns[CONTRACT_VALUE] = value

    def _changed(self, modification: dict[str, Any], where: str) -> dict[str, tuple[Any, Any]]:
        """The fields one modification changes: contract value, planned dates, budget."""
        budget = _object(modification.get("allimi"))
        pairs = {
            "contract_value": ("oldContractValue", "newContractValue", modification),
            "budget": ("oldBudget", "newBudget", budget),
        }
        out: dict[str, tuple[Any, Any]] = {}
        for name, (old, new, given) in pairs.items():
            if old in given or new in given:
                out[name] = (
                    self._amount(given.get(old), where),
                    self._amount(given.get(new), where),
                )
        periods = [_object(modification.get(k)) for k in ("oldContractPeriod", "newContractPeriod")]
        for name, end in (("planned_start", "startDate"), ("planned_end", "endDate")):
            if any(end in period for period in periods):
                out[name] = (_day(periods[0].get(end)), _day(periods[1].get(end)))
        return {name: pair for name, pair in out.items() if pair[0] != pair[1]}

    def _observations(self, metric: str, name: str) -> dict[date | None, Any]:
        """A metric's observations by date (None: the figure now), as the report field
        ``name`` takes them (a figure in percent, or an amount)."""
        kind, _, metric_id = metric.partition("[")
        found: dict[date | None, Any] = {}
        for metric_object in _objects(self.project.get(kind)):
            if metric_object.get("id") != metric_id.rstrip("]"):
                continue
            for number, observation in _numbered(metric_object.get("observations")):
                period = _object(observation.get("period"))
                try:
                    on = _day(period.get("endDate") or period.get("startDate"))
                except ValueError:
                    self._problem(metric, f"observation {number}: no date")
                    continue
                given = (
                    self._amount(observation.get("value"), metric)
                    if name == "spent_to_date"
                    else observation.get("measure")
                )
                try:
                    found[on] = REPORT_ADAPTERS[name].validate_python(given)
                except ValidationError as exc:
                    reason = exc.errors()[0]["msg"]
                    self._problem(metric, f"observation {number}: {reason}")
                if name == "actual" and on is not None and observation.get("notes"):
                    try:
                        self.notes[on] = REPORT_ADAPTERS["note"].validate_python(
                            observation["notes"]
                        )
                    except ValidationError as exc:
                        reason = exc.errors()[0]["msg"]
                        self._problem(metric, f"observation {number}: {reason}")
        return found

    def _progress(self) -> None:
        """A report for each date of an actual observation, each figure as of its latest
        observation on or before that date (a forecast has dates of its own), and the figures
        now (``ACTUAL``, ``SPENT``, ``PLANNED``): the undated observation, else the last."""
        figures = {
            "actual": self._observations(ACTUAL, "actual"),
            "spent_to_date": self._observations(SPENT, "spent_to_date"),
            "planned": self._observations(PLANNED, "planned"),
        }
        for on in sorted({d for n in ("actual", "spent_to_date") for d in figures[n] if d}):
            as_of = {name: _as_of(found, on) for name, found in figures.items()}
            self.history.reports.append({"reported_on": on, **as_of, "note": self.notes.get(on)})
        for column, name in ((ACTUAL, "actual"), (SPENT, "spent_to_date"), (PLANNED, "planned")):
            found = figures[name]
            days = [d for d in found if d is not None]
            now = found.get(None, found[max(days)] if days else None)
            if now is not None:
                self.columns[column] = now

    def _documents(self) -> None:
        for number, document in _numbered(self.project.get("documents")):
            url = _text(document.get("url"))
            if not url:
                continue
            kind = document.get("documentType")
            if not isinstance(kind, str) or kind not in codelist("documentType"):
                self._problem(f"documents[{number}]", f"{kind!r} is no documentType of OC4IDS")
                continue
            try:
                published = _day(document.get("datePublished"))
            except ValueError:
                self._problem(f"documents[{number}]", "its datePublished is no date")
                continue
            self.history.documents.append(
                {
                    "title": _text(document.get("title")) or url,
                    "document_type": kind,
                    "url": url,
                    "media_type": _text(document.get("format")),
                    "published_on": published,
                }
            )


def default_mapping(
    categories: dict[str, str], columns: list[str] | None = None, *, by_authority: bool = False
) -> Mapping:
    """The mapping of a package imported without one, given the stored categories (code ->
    OC4IDS sector) and the package's columns: each field from the first of its columns the
    package has (the required ones always, so that a missing one is named).

    Codes pass as they are (Allimi's statuses and types are OC4IDS's), Allimi's own status and
    category first (``allimi.status``: ``suspended``); else the category is the one of the first
    listed sector that names exactly one: a sector that several categories share
    (waterAndWaste: water and sewer) names none, and such a project is rejected until a mapping
    of its own says which it is. ``by_authority``: each project's agency is its public
    authority's id (when the import names no agency)."""
    has = set(columns or ())
    by_sector: dict[str, list[str]] = {}
    for code, sector in categories.items():
        by_sector.setdefault(sector, []).append(code)
    fields: dict[str, Any] = {
        "title": "title",
        "description": "description",
        "status": "allimi.status" if "allimi.status" in has else "status",
        "project_type": "type",
        "category": "allimi.category" if "allimi.category" in has else {
            "column": "sector",
            "values": {s: codes[0] for s, codes in sorted(by_sector.items()) if len(codes) == 1},
        },
        "budget": "budget.amount.amount",
        "planned_start": "period.startDate",
        "planned_end": "period.endDate",
    }  # fmt: skip
    optional = {
        "agency": "publicAuthority.id" if by_authority else None,
        "contractor": CONSTRUCTION_SUPPLIER,
        "supervisor": SUPERVISION_SUPPLIER,
        "officer_name": f"{CONTACT}.name",
        "officer_phone": f"{CONTACT}.telephone",
        "contract_value": CONTRACT_VALUE,
        "spent": SPENT,
        "progress_actual": ACTUAL,
        "progress_planned": PLANNED,
        "actual_start": "implementationPeriod.startDate",
        "actual_end": "completion.endDate",
        "address": ADDRESS,
    }
    fields.update({name: column for name, column in optional.items() if column in has})
    return parse_mapping({"key": "id", "currency": "budget.amount.currency", "fields": fields})
