"""An import: a file's rows checked, compared with what is stored, and applied all or nothing.

1. Each row's values come through the mapping and the write API's field rules
   (``geo.project_writes.FIELDS``); its geometry is sent as it is, with its CRS.
2. The rows go to a staging table by COPY, and PostGIS checks every geometry at once (the write
   API's rules, set-based: ``checks.sql``), transforming it to EPSG:4326.
3. Each row is matched to the project it made before by its stable key (a mapped column, else a
   hash of the row) within its agency: new, changed (which fields) or unchanged.
4. A dry run stops there. A real run, only when no row is rejected, inserts and updates in the
   caller's transaction and logs one entry per changed public project plus one for the import;
   running the same file again finds every row unchanged and writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from pydantic import ValidationError
from sqlalchemy import Connection, text

from geo.changelog import Change, append_all
from geo.geometry_input import Limits
from geo.imports import ImportRefused, oc4ids
from geo.imports.mapping import Mapping, blank, refused, value_of
from geo.imports.source import Source, open_source
from geo.jurisdiction import STORED, Jurisdiction, district_of
from geo.project_writes import (
    ADAPTERS,
    COLUMNS,
    DEFAULTS,
    FIELDS,
    REQUIRED,
    baseline_of,
    record_of,
    shown,
)
from geo.settings import get_settings
from geo.sql import Query
from geo.vocab import GEOMETRY_TYPES

CHECKS = (Path(__file__).parent / "checks.sql").read_text(encoding="utf-8")
STAGED = ["row", "key", "agency", *[f for f in FIELDS if f != "agency"], "srid", "source"]
ROLE = "admin"  # who the change log names for an import run by the ``allimi`` command


@dataclass(frozen=True)
class Options:
    agency: str | None = None  # every row's agency, when the file names none
    crs: str | None = None  # the CRS of a file that names none
    swap_axes: bool = False
    unmapped_drafts: bool = False  # rows without geometry kept as drafts, not refused
    layer: str | None = None
    dry_run: bool = False
    role: str = ROLE
    name: str | None = None  # the file's name as given (an upload's)


@dataclass
class Report:
    """What an import found, and did: counts, every rejected row, every changed one."""

    file: str
    sha256: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    unplaced: int = 0  # rows kept as drafts without a place (``unmapped_drafts``)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason
    changes: list[dict[str, Any]] = field(default_factory=list)  # row, code, fields
    applied: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "rows": self.rows,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "unplaced": self.unplaced,
            "rejected": [{"row": r, "field": f, "reason": why} for r, f, why in self.rejected],
            "changes": self.changes,
            "applied": self.applied,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _srid(crs: str | None) -> int | None:
    if crs is None:
        return None
    name = crs.upper().removeprefix("URN:OGC:DEF:CRS:EPSG::").removeprefix("EPSG:")
    if not name.isdigit():
        raise ImportRefused(422, f"The CRS {crs!r} is no EPSG code; name one with --crs EPSG:NNNN.")
    return int(name)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line(values: list[Any]) -> str:
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


class _Rows:
    """The file's rows as staged values, with each field problem found on the way."""

    def __init__(
        self,
        mapping: Mapping,
        options: Options,
        categories: set[str],
        agencies: set[str],
        currency: str,
    ):
        self.mapping = mapping
        self.currency = currency
        self.options = options
        self.categories = categories
        self.agencies = agencies
        self.rejected: list[tuple[int, str, str]] = []
        self.keys: dict[tuple[str, str], int] = {}
        self.count = 0

    def values(self, number: int, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {**DEFAULTS, "published": True}
        for name, spec in self.mapping.fields.items():
            try:
                raw = value_of(spec, record.get(spec.column) if spec.column else None)
                if raw is not None:
                    out[name] = ADAPTERS[name].validate_python(raw)
            except ValueError as exc:
                reason = (
                    str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                    if isinstance(exc, ValidationError)
                    else str(exc)
                )
                self.rejected.append((number, name, reason))
        if self.options.agency and "agency" not in self.mapping.fields:
            out["agency"] = self.options.agency
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
        start, end = out.get("planned_start"), out.get("planned_end")
        if start and end and end < start:
            self.rejected.append(
                (number, "planned_end", f"it is before the planned start ({start})")
            )
        return out

    def _failed(self, number: int, name: str) -> bool:
        return any(r == number and f == name for r, f, _ in self.rejected[-len(FIELDS) :])

    def key(self, number: int, record: dict[str, Any], agency: str | None, wkb: str | None) -> str:
        if self.mapping.key:
            given = record.get(self.mapping.key)
            key = "" if given is None or given != given else str(given).strip()
            if not key:
                self.rejected.append((number, self.mapping.key, "the row has no key"))
        else:
            row = {c: str(record.get(c)) for c in self.mapping.columns()}
            key = hashlib.sha256(json.dumps([row, wkb], sort_keys=True).encode()).hexdigest()[:32]
        first = self.keys.setdefault((agency or "", key), number)
        if first != number:
            self.rejected.append(
                (number, self.mapping.key or "key", f"the same key as row {first}")
            )
        return key


def _geometries(frame: Any, mapping: Mapping) -> list[bytes | None]:
    """Each row's geometry as WKB (None where it has none), from the file's geometry or the
    mapping's lon/lat or WKT columns."""
    spec = mapping.geometry
    if spec is None:
        shapes = frame.geometry.values if "geometry" in frame else [None] * len(frame)
    elif spec.wkt:
        texts = [t if isinstance(t, str) and t.strip() else None for t in frame[spec.wkt]]
        shapes = shapely.from_wkt(texts, on_invalid="ignore")
    else:
        lon = _numbers(frame[spec.lon])
        lat = _numbers(frame[spec.lat])
        shapes = [
            shapely.Point(x, y) if x is not None and y is not None else None
            for x, y in zip(lon, lat, strict=True)
        ]
    return [None if s is None else shapely.to_wkb(s, output_dimension=2) for s in shapes]


def _numbers(column: Any) -> list[float | None]:
    out: list[float | None] = []
    for value in column:
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            number = math.nan
        out.append(number if math.isfinite(number) else None)
    return out


def _stage(conn: Connection) -> Any:
    conn.exec_driver_sql(
        f"""
        CREATE TEMP TABLE import_rows (
            row int PRIMARY KEY, key text NOT NULL, agency text,
            {", ".join(f"{n} {_TYPES[n]}" for n in FIELDS if n != "agency")},
            srid int, source geometry, geom geometry(Geometry, 4326), district text,
            problem text, swapped boolean NOT NULL DEFAULT false
        ) ON COMMIT DROP
        """
    )
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw.cursor()


_TYPES = {
    **{n: "text" for n in FIELDS},
    **{n: "numeric(18,2)" for n in ("budget", "contract_value", "spent")},
    **{n: "numeric(5,2)" for n in ("progress_actual", "progress_planned")},
    **{n: "date" for n in ("planned_start", "planned_end", "actual_start", "actual_end")},
    "published": "boolean",
}


def _checked_crs(source_crs: str | None, options: Options, mapping: Mapping, frame: Any,
                 wkbs: list[bytes | None]) -> int:  # fmt: skip
    named = source_crs or options.crs or mapping.crs
    if named:
        srid = _srid(named)
        assert srid is not None
        return srid
    shapes = [shapely.from_wkb(w) for w in wkbs if w is not None]
    if shapes:
        xmin, ymin, xmax, ymax = shapely.total_bounds(shapes)
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            raise ImportRefused(
                422,
                "The file names no CRS and its coordinates are no longitude/latitude "
                f"(x {xmin:.0f}..{xmax:.0f}, y {ymin:.0f}..{ymax:.0f}); name it with --crs.",
            )
    return 4326


def import_file(
    conn: Connection,
    path: Path,
    mapping: Mapping,
    options: Options,
    *,
    progress: Callable[[int], None] | None = None,
    max_bytes: int | None = None,
) -> Report:
    """Import ``path`` in ``conn``'s transaction (the caller commits); the report says what
    was found and, unless a dry run or a row was rejected, done."""
    began = time.monotonic()
    settings = get_settings()
    report = Report(options.name or path.name, _sha256(path))
    row = conn.execute(text(STORED)).mappings().first()
    if row is None:
        raise ImportRefused(409, "No city is set up yet (allimi city init).")
    city = Jurisdiction.model_validate(dict(row))
    categories: dict[str, str] = dict(
        conn.execute(text("SELECT code, oc4ids FROM categories")).all()
    )
    agencies = set(conn.execute(text("SELECT code FROM agencies")).scalars())
    with tempfile.TemporaryDirectory(prefix="allimi-import-") as scratch:
        source = open_source(path, Path(scratch), layer=options.layer,
                             max_bytes=max_bytes or settings.import_max_bytes)  # fmt: skip
        if source.kind == oc4ids.KIND and mapping == Mapping():
            mapping = oc4ids.default_mapping(categories)
        rows = _Rows(mapping, options, set(categories), agencies, city.currency)
        _check_columns(source, mapping)
        cursor = _stage(conn)
        srid: int | None = None
        for frame in source.rows():
            wkbs = _geometries(frame, mapping)
            if srid is None:
                srid = _checked_crs(source.crs(), options, mapping, frame, wkbs)
            buffer = io.StringIO()
            records = frame.drop(columns="geometry", errors="ignore").to_dict("records")
            for record, wkb in zip(records, wkbs, strict=True):
                rows.count += 1
                number = rows.count
                values = rows.values(number, record)
                key = rows.key(number, record, values.get("agency"), wkb.hex() if wkb else None)
                staged = {"row": number, "key": key, **values, "srid": srid,
                          "source": wkb.hex() if wkb else None}  # fmt: skip
                buffer.write(_copy_line([staged.get(name) for name in STAGED]))
            buffer.seek(0)
            cursor.copy_expert(f"COPY import_rows ({', '.join(STAGED)}) FROM STDIN", buffer)
            if progress:
                progress(rows.count)
    report.rows = rows.count
    limits = Limits.of(settings)
    checks = Query.compose(
        CHECKS,
        {
            "swap": options.swap_axes,
            "unmapped": options.unmapped_drafts,
            "margin": limits.margin_m,
            "max_length": limits.max_length_m,
            "max_area": limits.max_area_m2,
            "types": list(GEOMETRY_TYPES),
        },
        district=district_of(Query("r.geom")),
    )
    cursor.execute(checks.sql, checks.params)
    for number, problem in conn.exec_driver_sql(
        "SELECT row, problem FROM import_rows WHERE problem IS NOT NULL ORDER BY row"
    ):
        rows.rejected.append((number, "geometry", problem))
    report.rejected = sorted(set(rows.rejected))
    report.unplaced = conn.exec_driver_sql(
        "SELECT count(*) FROM import_rows WHERE source IS NULL AND problem IS NULL"
    ).scalar_one()
    _compare(conn, report)
    if not report.rejected and not options.dry_run:
        _apply(conn, report, city.code_prefix, city.currency, options)
        report.applied = True
    report.seconds = time.monotonic() - began
    return report


# The changed fields of a staged row against the project it matches
_DIFFERS = (
    " || ".join(
        f"CASE WHEN s.{n} IS DISTINCT FROM p.{'agency_code' if n == 'agency' else n} "
        f"THEN ARRAY['{n}'] ELSE '{{}}'::text[] END"
        for n in FIELDS
    )
    + " || CASE WHEN (s.geom IS NULL) <> (p.geom IS NULL) OR NOT ST_Equals(s.geom, p.geom) "
    "THEN ARRAY['geometry'] ELSE '{}'::text[] END"
)
MATCHED = f"""
    CREATE TEMP TABLE import_matches ON COMMIT DROP AS
    SELECT s.row, p.id, p.code, CASE WHEN p.id IS NULL THEN NULL ELSE {_DIFFERS} END AS fields,
           CASE WHEN p.withdrawn_at IS NOT NULL THEN 'withdrawn'
                WHEN p.published AND NOT s.published THEN 'published' END AS refusal
    FROM import_rows s
    LEFT JOIN projects p ON p.agency_code = s.agency AND p.source_key = s.key AND NOT p.is_sample
    WHERE s.problem IS NULL
"""  # noqa: S608 - declared columns
# What a matched project cannot become: the write API's own rules
REFUSALS = {
    "withdrawn": ("published", "its project {code} is withdrawn; withdrawn projects are kept"),
    "published": ("published", "its project {code} is public; it is withdrawn, not made a draft"),
}


def _compare(conn: Connection, report: Report) -> None:
    conn.exec_driver_sql(MATCHED)
    refused = {number for number, _, _ in report.rejected}
    found = conn.exec_driver_sql(
        "SELECT row, code, fields, refusal FROM import_matches ORDER BY row"
    ).all()
    for number, code, fields, refusal in found:
        if refusal and fields:
            name, reason = REFUSALS[refusal]
            report.rejected.append((number, name, reason.format(code=code)))
            refused.add(number)
        if number in refused:
            continue
        if code is None:
            report.new += 1
        elif fields:
            report.changed += 1
            report.changes.append({"row": number, "code": code, "fields": list(fields)})
        else:
            report.unchanged += 1
    report.rejected.sort()


_NAMES = [n for n in FIELDS if n != "agency"]
# New rows: coded PREFIX-YEAR-NNNNNN after the last code of their planned start's year
INSERT_NEW = f"""
    WITH last AS (
        SELECT y, coalesce((
            SELECT max(substring(code from '\\d{{6}}$')::int) FROM projects
            WHERE code LIKE %(prefix)s || '-' || y || '-%%'
              AND code ~ ('^' || %(prefix)s || '-' || y || '-\\d{{6}}$')), 0) AS n
        FROM (SELECT DISTINCT extract(year FROM planned_start)::int AS y FROM import_rows) ys)
    INSERT INTO projects AS p (code, currency, district_code, updated_at, geom, source_key,
                               agency_code, {", ".join(_NAMES)})
    SELECT %(prefix)s || '-' || l.y || '-'
               || lpad((l.n + row_number() OVER (PARTITION BY l.y ORDER BY s.row))::text, 6, '0'),
           %(currency)s, s.district, now(), s.geom, s.key, s.agency,
           {", ".join(f"s.{n}" for n in _NAMES)}
    FROM import_rows s JOIN import_matches m USING (row)
    JOIN last l ON l.y = extract(year FROM s.planned_start)::int
    WHERE m.id IS NULL ORDER BY s.row
    RETURNING {COLUMNS}
"""  # noqa: S608 - declared columns
LOCK_CHANGED = f"""
    SELECT {COLUMNS} FROM projects p JOIN import_matches m ON m.id = p.id
    WHERE cardinality(m.fields) > 0 ORDER BY p.id FOR UPDATE OF p
"""  # noqa: S608 - declared columns
UPDATE_CHANGED = f"""
    UPDATE projects p SET updated_at = now(), geom = s.geom, district_code = s.district,
           agency_code = s.agency, {", ".join(f"{n} = s.{n}" for n in _NAMES)}
    FROM import_rows s JOIN import_matches m USING (row)
    WHERE p.id = m.id AND cardinality(m.fields) > 0
    RETURNING {COLUMNS}
"""  # noqa: S608 - declared columns


def _apply(conn: Connection, report: Report, prefix: str, currency: str, options: Options) -> None:
    reason = f"import of {report.file} (sha256 {report.sha256[:12]})"
    years = (
        conn.exec_driver_sql(
            "SELECT DISTINCT extract(year FROM planned_start)::int FROM import_rows s "
            "JOIN import_matches m USING (row) WHERE m.id IS NULL"
        )
        .scalars()
        .all()
    )
    for year in years:  # the same lock as a single create's (project_writes._next_code)
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtext('allimi.project_code'), %(y)s)", {"y": year}
        )
    made = [
        dict(r)
        for r in conn.exec_driver_sql(
            INSERT_NEW, {"prefix": prefix, "currency": currency}
        ).mappings()
    ]
    before = {r["id"]: dict(r) for r in conn.exec_driver_sql(LOCK_CHANGED).mappings()}
    after = [dict(r) for r in conn.exec_driver_sql(UPDATE_CHANGED).mappings()]
    changes: list[Change] = []
    for row in made:
        if row["published"]:
            changes.append(Change("create", row["code"], row["agency"], options.role,
                                  baseline_of(row), reason))  # fmt: skip
    for row in sorted(after, key=lambda r: r["id"]):
        was, now = record_of(before[row["id"]]), record_of(row)
        differ = {k: (shown(k, was[k]), shown(k, now[k])) for k in now if was[k] != now[k]}
        if before[row["id"]]["published"] and differ:
            changes.append(Change("edit", row["code"], row["agency"], options.role, differ, reason))
        elif row["published"] and not before[row["id"]]["published"]:
            changes.append(Change("publish", row["code"], row["agency"], options.role,
                                  baseline_of(row), reason))  # fmt: skip
    if not changes:
        return
    counts = {"new": report.new, "changed": report.changed, "unchanged": report.unchanged}
    changes.append(Change("import", None, options.agency, options.role,
                          {"file": (None, report.file), "sha256": (None, report.sha256),
                           **{k: (None, v) for k, v in counts.items()}}, reason))  # fmt: skip
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        append_all(cursor, changes)
    finally:
        cursor.close()


def _check_columns(source: Source, mapping: Mapping) -> None:
    """ImportRefused listing the mapped columns the file does not have."""
    have = source.columns()
    missing = [c for c in mapping.columns() if c not in have]
    if missing:
        raise refused(
            [(c, "no such column in the file") for c in missing]
            + [("columns", f"the file has: {', '.join(have)}")]
        )


def inspect(path: Path, mapping: Mapping, layer: str | None, max_bytes: int) -> str:
    """What ``path`` is (its kind), once it is known to be readable with ``mapping``'s
    columns; ImportRefused otherwise. Quick: it reads the file's head and schema only."""
    with tempfile.TemporaryDirectory(prefix="allimi-import-") as scratch:
        source = open_source(path, Path(scratch), layer=layer, max_bytes=max_bytes)
        _check_columns(source, mapping)
        return source.kind


def sample_rows(
    path: Path, layer: str | None, count: int = 20
) -> tuple[list[str], dict[str, list[Any]], bool]:
    """A file's columns, the first ``count`` values of each, and whether it has geometry."""
    with tempfile.TemporaryDirectory(prefix="allimi-import-") as scratch:
        source = open_source(path, Path(scratch), layer=layer,
                             max_bytes=get_settings().import_max_bytes)  # fmt: skip
        frame = next(iter(source.rows(count)), None)
        columns = source.columns()
    if frame is None:
        return columns, {}, False
    has_geometry = "geometry" in frame and frame.geometry.notna().any()
    return columns, {c: list(frame[c]) for c in columns if c in frame}, bool(has_geometry)


def summary(report: Report) -> str:
    """The report as a few lines for the command line."""
    lines = [
        f"{report.file}: {report.rows:,} rows: {report.new:,} new, {report.changed:,} changed, "
        f"{report.unchanged:,} unchanged, {len({r for r, _, _ in report.rejected}):,} rejected."
    ]
    if report.unplaced:
        lines.append(f"  {report.unplaced:,} without a place, kept as drafts to draw.")
    lines += [f"  row {row}: {name}: {reason}" for row, name, reason in report.rejected[:200]]
    lines += [
        f"  row {c['row']} ({c['code']}): {', '.join(c['fields'])}" for c in report.changes[:200]
    ]
    if report.rejected:
        lines.append("Nothing was imported: correct the rows above, then import again.")
    elif report.applied:
        lines.append(f"Imported in {report.seconds:.1f} s.")
    else:
        lines.append("A dry run: nothing was changed.")
    return "\n".join(lines)
