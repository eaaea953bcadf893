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

What an OC4IDS package's projects bring beside their fields (reports, documents, the history
of their changes) is staged, compared and applied alongside (``history``).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, text

from geo.changelog import Change, append_all
from geo.conflicts import find
from geo.conflicts.store import recheck_of
from geo.geometry_input import CRS, Limits, UnknownCRS, srid_of
from geo.imports import ImportRefused, history, identity, oc4ids
from geo.imports.mapping import Mapping, refused
from geo.imports.report import Report
from geo.imports.rows import STAGED, TYPES, Rows, copy_line, geometries, unread
from geo.imports.source import Source, open_source
from geo.jurisdiction import STORED, Jurisdiction, district_of
from geo.oc4ids import oc4ids_settings
from geo.project_writes import (
    COLUMNS,
    FIELDS,
    baseline_of,
    code_lock,
    last_number,
    record_of,
    shown,
)
from geo.settings import get_settings
from geo.sql import Query
from geo.transaction import run
from geo.vocab import GEOMETRY_TYPES

CHECKS = (Path(__file__).parent / "checks.sql").read_text(encoding="utf-8")
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stage(conn: Connection) -> Any:
    conn.exec_driver_sql(
        f"""
        CREATE TEMP TABLE import_rows (
            row int PRIMARY KEY, key text NOT NULL, agency text,
            {", ".join(f"{n} {TYPES[n]}" for n in FIELDS if n != "agency")},
            srid int, source geometry, geom geometry(Geometry, 4326), district text,
            problem text, swapped boolean NOT NULL DEFAULT false,
            code text  -- the code it keeps (``identity``)
        ) ON COMMIT DROP
        """
    )
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw.cursor()


def _checked_crs(
    conn: Connection, source_crs: str | None, options: Options, mapping: Mapping,
    wkbs: list[bytes | None],
) -> int:  # fmt: skip
    """The SRID of the file's coordinates: the EPSG code it names (else the CRS given), which
    PostGIS must know; EPSG:4326 for a file naming none only when its coordinates fit."""
    by_code = source_crs if source_crs and CRS.match(source_crs) else None  # not bare WKT
    named = by_code or options.crs or mapping.crs or source_crs
    if named:
        try:
            return run(conn, srid_of(named))
        except UnknownCRS as exc:
            raise ImportRefused(422, exc.reason, [("crs", exc.reason)]) from None
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
        package = source.reader if isinstance(source.reader, oc4ids.Package) else None
        if package is not None and mapping == Mapping():
            mapping = oc4ids.default_mapping(
                categories, source.columns(), by_authority=options.agency is None
            )
        rows = Rows(mapping, options.agency, set(categories), agencies, city.currency)
        _check_columns(source, mapping)
        cursor = _stage(conn)
        srid: int | None = None
        for frame in source.rows():
            wkbs = geometries(frame, mapping)
            if srid is None:
                srid = _checked_crs(conn, source.crs(), options, mapping, wkbs)
            buffer = io.StringIO()
            records = frame.drop(columns="geometry", errors="ignore").to_dict("records")
            for record, wkb in zip(records, wkbs, strict=True):
                rows.count += 1
                number = rows.count
                values = rows.values(number, record)
                hexed = wkb.hex() if wkb else None
                if hexed is None and (problem := unread(record, mapping)):
                    rows.rejected.append((number, *problem))
                key = rows.key(number, record, hexed)
                staged = {"row": number, "key": key, **values, "srid": srid,
                          "source": hexed}  # fmt: skip
                buffer.write(copy_line([staged.get(name) for name in STAGED]))
            buffer.seek(0)
            cursor.copy_expert(f"COPY import_rows ({', '.join(STAGED)}) FROM STDIN", buffer)
            if progress:
                progress(rows.count)
        rows.rejected += history.stage(conn, cursor, package)
    report.rows = rows.count
    conn.exec_driver_sql("ANALYZE import_rows")  # the planner's count of rows, for the joins
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
    key_field = mapping.key or "key"
    for number, first in conn.exec_driver_sql(TWINS):
        rows.rejected.append((number, key_field, f"the same key as row {first}"))
    report.rejected = sorted(set(rows.rejected))
    report.unplaced = conn.exec_driver_sql(
        "SELECT count(*) FROM import_rows WHERE source IS NULL AND problem IS NULL"
    ).scalar_one()
    _compare(conn, report)
    if not report.rejected and not options.dry_run:
        if report.new or report.changed:  # the same file again writes and logs nothing
            _apply(conn, report, city.code_prefix, city.currency, options, package)
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
# Rows of one key in one agency: each after the first is refused
TWINS = """
    SELECT row, first FROM (
        SELECT row, min(row) OVER (PARTITION BY agency, key) AS first FROM import_rows) t
    WHERE row <> first ORDER BY row
"""
LISTED = 1000  # changed rows a report lists, with which fields change; the counts are whole
CHANGED_MATCHES = (
    "SELECT row, code, fields, refusal FROM import_matches WHERE cardinality(fields) > 0 "
    "ORDER BY row"
)
MATCH_COUNTS = """
    SELECT count(*) FILTER (WHERE id IS NULL),
           count(*) FILTER (WHERE id IS NOT NULL AND cardinality(fields) > 0),
           count(*) FILTER (WHERE id IS NOT NULL AND cardinality(fields) = 0)
    FROM import_matches WHERE row <> ALL(%(refused)s::int[])
"""
# What a matched project cannot become: the write API's own rules
REFUSALS = {
    "withdrawn": ("published", "its project {code} is withdrawn; withdrawn projects are kept"),
    "published": ("published", "its project {code} is public; it is withdrawn, not made a draft"),
}


def _compare(conn: Connection, report: Report) -> None:
    """New, changed and unchanged rows counted; changed ones listed (the first ``LISTED``),
    refused where the project they match may not become what they say."""
    conn.exec_driver_sql(MATCHED)
    conn.exec_driver_sql("ANALYZE import_matches")
    identity.keep(conn, report, oc4ids_settings().prefix)
    history.compare(conn, report)
    raw = conn.connection.dbapi_connection
    refused = {number for number, _, _ in report.rejected}
    for row in _streamed(raw, CHANGED_MATCHES, "import_changed"):
        if row["row"] in refused:
            continue
        if row["refusal"]:
            name, reason = REFUSALS[row["refusal"]]
            report.rejected.append((row["row"], name, reason.format(code=row["code"])))
            refused.add(row["row"])
        elif len(report.changes) < LISTED:
            report.changes.append({"row": row["row"], "code": row["code"],
                                   "fields": list(row["fields"])})  # fmt: skip
    report.rejected.sort()
    counts = conn.exec_driver_sql(MATCH_COUNTS, {"refused": sorted(refused)}).one()
    report.new, report.changed, report.unchanged = counts


_NAMES = [n for n in FIELDS if n != "agency"]
# New rows: coded PREFIX-YEAR-NNNNNN after the last code of their planned start's year, but
# for those that keep theirs (``identity``)
INSERT_NEW = f"""
    INSERT INTO projects AS p (code, currency, district_code, updated_at, geom, source_key,
                               agency_code, {", ".join(_NAMES)})
    SELECT coalesce(s.code, %(prefix)s || '-' || l.y || '-' || lpad((l.n + count(*)
               FILTER (WHERE s.code IS NULL) OVER (PARTITION BY l.y ORDER BY s.row))::text,
               6, '0')),
           %(currency)s, s.district, now(), s.geom, s.key, s.agency,
           {", ".join(f"s.{n}" for n in _NAMES)}
    FROM import_rows s JOIN import_matches m USING (row)
    JOIN unnest(%(years)s::int[], %(last)s::int[]) AS l(y, n)
      ON l.y = extract(year FROM s.planned_start)::int
    WHERE m.id IS NULL ORDER BY s.row
"""  # noqa: S608 - declared columns
# The public projects the import made, as the log's baseline has them, in the file's order,
# with the reports and documents they came with (``history``)
GAINED = "a.reports AS added_reports, a.documents AS added_documents"
CREATED = f"""
    SELECT {COLUMNS}, s.row AS import_row, {GAINED}
    FROM import_rows s JOIN import_matches m USING (row)
    JOIN projects p ON p.agency_code = s.agency AND p.source_key = s.key
    LEFT JOIN import_added a ON a.row = s.row
    WHERE m.id IS NULL AND p.published ORDER BY s.row
"""  # noqa: S608 - declared columns
# The projects an import changes, locked (keeping their keys: conflicts refer to them, see
# geo.project_writes.ROW) and kept as they were, then changed
BEFORE = f"""
    SELECT p.id FROM projects p JOIN import_matches m ON m.id = p.id
    WHERE cardinality(m.fields) > 0 ORDER BY p.id FOR NO KEY UPDATE OF p;
    CREATE TEMP TABLE import_before ON COMMIT DROP AS
    SELECT {COLUMNS} FROM projects p JOIN import_matches m ON m.id = p.id
    WHERE cardinality(m.fields) > 0
"""  # noqa: S608 - declared columns
UPDATE_CHANGED = f"""
    UPDATE projects p SET updated_at = now(), geom = s.geom, district_code = s.district,
           agency_code = s.agency, {", ".join(f"{n} = s.{n}" for n in _NAMES)}
    FROM import_rows s JOIN import_matches m USING (row)
    WHERE p.id = m.id AND cardinality(m.fields) > 0
"""  # noqa: S608 - declared columns
# The projects the import made or changed, as an SQL array (their conflicts are re-checked)
TOUCHED = """
    CREATE TEMP TABLE import_touched ON COMMIT DROP AS
    SELECT coalesce(array_agg(p.id), '{}') AS ids FROM import_rows s JOIN import_matches m
    USING (row) JOIN projects p ON p.agency_code = s.agency AND p.source_key = s.key
    WHERE m.id IS NULL OR cardinality(m.fields) > 0"""
# The planner's statistics of projects are refreshed when an import changed more than this
# share of the rows they count (any, when never taken); in the transaction, whose new rows
# ANALYZE samples too
STALE_SHARE = 0.1
STATISTICS = """
    SELECT refresh_project_statistics() FROM pg_class
    WHERE oid = 'projects'::regclass AND %(changed)s > %(share)s * greatest(reltuples, 0)"""
WAS = "SELECT * FROM import_before ORDER BY id"
IS = f"""
    SELECT {COLUMNS}, {GAINED} FROM projects p JOIN import_before b USING (id)
    LEFT JOIN import_added a ON a.id = p.id ORDER BY p.id
"""  # noqa: S608 - declared columns


def _streamed(raw: Any, sql: str, name: str, size: int = 5000) -> Iterator[dict[str, Any]]:
    """The rows of ``sql`` by column name, fetched ``size`` at a time by a server-side cursor
    named ``name``: memory does not grow with the import."""
    cursor = raw.cursor(name=name)
    cursor.itersize = size
    try:
        cursor.execute(sql)
        names: list[str] = []
        for row in cursor:
            names = names or [column.name for column in cursor.description]
            yield dict(zip(names, row, strict=True))
    finally:
        cursor.close()


def _logged(
    raw: Any, report: Report, options: Options, package: oc4ids.Package | None
) -> Iterator[Change]:
    """The change-log entries of an applied import: a ``create`` for each public project it
    made (followed by its history, ``history.created``), an ``edit`` (or ``publish``) for
    each it changed, then the import's own."""
    source = f"{report.file} (sha256 {report.sha256[:12]})"
    reason = f"import of {source}"
    for row in _streamed(raw, CREATED, "import_created"):
        revisions = package.histories[row["import_row"] - 1].revisions if package else []
        yield from history.created(row, revisions, options.role, reason, source)
    pairs = zip(_streamed(raw, WAS, "import_was"), _streamed(raw, IS, "import_is"), strict=True)
    for before, row in pairs:
        was, now = record_of(before), record_of(row)
        differ = {k: (shown(k, was[k]), shown(k, now[k])) for k in now if was[k] != now[k]}
        differ.update(history.gained(row))
        if before["published"] and differ:
            yield Change("edit", row["code"], row["agency"], options.role, differ, reason)
        elif row["published"] and not before["published"]:
            yield Change("publish", row["code"], row["agency"], options.role,
                         {**baseline_of(row), **history.gained(row)}, reason)  # fmt: skip
    counts = {"new": report.new, "changed": report.changed, "unchanged": report.unchanged}
    yield Change("import", None, options.agency, options.role,
                 {"file": (None, report.file), "sha256": (None, report.sha256),
                  **{k: (None, v) for k, v in counts.items()}}, reason)  # fmt: skip


def _apply(
    conn: Connection,
    report: Report,
    prefix: str,
    currency: str,
    options: Options,
    package: oc4ids.Package | None,
) -> None:
    years = (
        conn.exec_driver_sql(
            "SELECT DISTINCT extract(year FROM planned_start)::int FROM import_rows s "
            "JOIN import_matches m USING (row) WHERE m.id IS NULL"
        )
        .scalars()
        .all()
    )
    last = []
    for year in years:  # numbered after the year's last code, under a create's own lock
        found = code_lock(year) + last_number(prefix, year)
        kept = identity.last_kept(prefix, year)
        last.append(
            max(
                conn.exec_driver_sql(found.sql, found.params).scalar_one(),
                conn.exec_driver_sql(kept.sql, kept.params).scalar_one(),
            )
        )
    conn.exec_driver_sql(
        INSERT_NEW, {"prefix": prefix, "currency": currency, "years": years, "last": last}
    )
    conn.exec_driver_sql(BEFORE)
    conn.exec_driver_sql(UPDATE_CHANGED)
    conn.exec_driver_sql(STATISTICS, {"changed": report.new + report.changed,
                                      "share": STALE_SHARE})  # fmt: skip
    conn.exec_driver_sql(TOUCHED)
    history.add(conn)
    touched = recheck_of(Query("(SELECT ids FROM import_touched)::bigint[]"), find.ids([], "zones"))
    conn.exec_driver_sql(touched.sql, touched.params)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        append_all(cursor, _logged(raw, report, options, package))
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
