"""What an imported project brings beside its fields (an OC4IDS package's, ``oc4ids.History``):
its progress reports, documents and the history of its cost and schedule changes.

Reports and documents are staged by COPY like the rows, and only ever added: a report of a
date the project lacks, a document of a URL it lacks. A report of a date the project has with
other figures refuses the row (an import does not rewrite a report), and a matched project that
gains reports or documents is changed. Reports come approved, as the package published them.

The history is the change log's: a project the import makes is logged as made with its values
as first known (each revised field's value before its first change), then each change of the
package as an ``edit`` with the package's reason and, in the field ``recorded_at``, its date
(the log's own time is the import's), with ``imported_from`` naming the file; a last ``edit``
with the import's reason brings what the changes do not explain to the values imported. The
entries say what they are, and the disclosure and the OC4IDS export show the history as it was.
A change to a project the import only updates is its ``edit``, with the import's reason.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection

from geo.changelog import REVISED, Change
from geo.imports.oc4ids import Package, Revision
from geo.imports.report import Report
from geo.imports.rows import copy_line
from geo.project_writes import baseline_of

REWRITE = "an import adds reports, it does not change them"
REPORTS = ("row", "reported_on", "actual", "planned", "spent_to_date", "note")
DOCUMENTS = ("row", "position", "title", "document_type", "url", "media_type", "published_on")
STAGE = """
    CREATE TEMP TABLE import_reports (
        row int NOT NULL, reported_on date NOT NULL, actual numeric(5,2) NOT NULL,
        planned numeric(5,2) NOT NULL, spent_to_date numeric(18,2) NOT NULL, note text
    ) ON COMMIT DROP;
    CREATE TEMP TABLE import_documents (
        row int NOT NULL, position int NOT NULL, title text NOT NULL, document_type text NOT NULL,
        url text NOT NULL, media_type text, published_on date
    ) ON COMMIT DROP
"""
# A matched project's report of a date it has, with other figures (or not approved)
DIFFERING = """
    SELECT r.row, r.reported_on, o.state FROM import_reports r
    JOIN import_matches m USING (row) JOIN progress_reports o
      ON o.project_id = m.id AND o.reported_on = r.reported_on
    WHERE o.state <> 'approved'
       OR (o.actual, o.planned, o.spent_to_date, o.note)
          IS DISTINCT FROM (r.actual, r.planned, r.spent_to_date, r.note)
    ORDER BY r.row, r.reported_on
"""
# The staged reports and documents of row {row} that project {id} lacks
NEW_REPORTS = """import_reports r WHERE r.row = {row} AND NOT EXISTS (
    SELECT FROM progress_reports o WHERE o.project_id = {id} AND o.reported_on = r.reported_on)"""
NEW_DOCUMENTS = """import_documents d WHERE d.row = {row} AND NOT EXISTS (
    SELECT FROM documents o WHERE o.project_id = {id} AND o.url = d.url)"""
# Matched projects gaining reports or documents are changed
GAINING = f"""
    UPDATE import_matches m SET fields = fields || ARRAY['reports']
    WHERE m.id IS NOT NULL AND EXISTS (SELECT FROM {NEW_REPORTS.format(row="m.row", id="m.id")});
    UPDATE import_matches m SET fields = fields || ARRAY['documents']
    WHERE m.id IS NOT NULL AND EXISTS (SELECT FROM {NEW_DOCUMENTS.format(row="m.row", id="m.id")})
"""  # noqa: S608 - constant SQL
# What each project the import makes or changes gains, then added
ADDED = f"""
    CREATE TEMP TABLE import_added ON COMMIT DROP AS
    SELECT s.row, p.id,
        (SELECT array_agg(r.reported_on ORDER BY r.reported_on)
         FROM {NEW_REPORTS.format(row="s.row", id="p.id")}) AS reports,
        (SELECT array_agg(d.url ORDER BY d.position)
         FROM {NEW_DOCUMENTS.format(row="s.row", id="p.id")}) AS documents
    FROM import_rows s JOIN import_matches m USING (row)
    JOIN projects p ON p.agency_code = s.agency AND p.source_key = s.key
    WHERE m.id IS NULL OR cardinality(m.fields) > 0;
    ALTER TABLE import_added ADD PRIMARY KEY (row);  -- the change log's entries join by row
    ANALYZE import_added;
    INSERT INTO progress_reports (project_id, reported_on, actual, planned, spent_to_date, note,
                                  state, decided_at)
    SELECT a.id, r.reported_on, r.actual, r.planned, r.spent_to_date, r.note, 'approved', now()
    FROM import_added a JOIN import_reports r USING (row) WHERE r.reported_on = ANY(a.reports);
    INSERT INTO documents (project_id, title, document_type, url, media_type, published_on)
    SELECT a.id, d.title, d.document_type, d.url, d.media_type, d.published_on
    FROM import_added a JOIN import_documents d USING (row) WHERE d.url = ANY(a.documents)
    ORDER BY a.id, d.position
"""  # noqa: S608 - constant SQL


def stage(conn: Connection, cursor: Any, package: Package | None) -> list[tuple[int, str, str]]:
    """The staging tables of reports and documents, filled from ``package`` (empty for other
    files); each project's problems as (row, field, reason)."""
    conn.exec_driver_sql(STAGE)
    if package is None:
        return []
    problems, reports, documents = [], io.StringIO(), io.StringIO()
    for number, history in enumerate(package.histories, 1):
        problems += [(number, name, reason) for name, reason in history.problems]
        for values in history.reports:
            reports.write(copy_line([number, *(values[n] for n in REPORTS[1:])]))
        for position, values in enumerate(history.documents, 1):
            documents.write(copy_line([number, position, *(values[n] for n in DOCUMENTS[2:])]))
    for table, columns, buffer in (("import_reports", REPORTS, reports),
                                   ("import_documents", DOCUMENTS, documents)):  # fmt: skip
        buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    return problems


def compare(conn: Connection, report: Report) -> None:
    """Refuse rows that would rewrite a report; mark matched projects that gain reports or
    documents as changed."""
    for number, on, state in conn.exec_driver_sql(DIFFERING):
        reason = f"the project's report of {on} ({state}) says otherwise; {REWRITE}"
        report.rejected.append((number, "reports", reason))
    conn.exec_driver_sql(GAINING)


def add(conn: Connection) -> None:
    """Add to each project the import made or changed the reports and documents it lacks."""
    conn.exec_driver_sql(ADDED)


def gained(row: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The log's fields of what a project gained (the dates of its new reports, the URLs of its
    new documents), from the columns ``added_reports`` and ``added_documents``."""
    return {
        name: (None, row[f"added_{name}"])
        for name in ("reports", "documents")
        if row[f"added_{name}"]
    }


def created(
    row: Mapping[str, Any], revisions: list[Revision], role: str, reason: str, source: str
) -> Iterator[Change]:
    """The log's entries of a public project an import made: made as first known, then each
    change of its history, then what those do not explain."""
    now = {name: row[name] for name in REVISED}
    first: dict[str, Any] = {}
    for revision in revisions:
        for name, (before, _) in revision.fields.items():
            first.setdefault(name, before)
    fields = {**baseline_of(row), **{n: (None, v) for n, v in first.items()}, **gained(row)}
    yield Change("create", row["code"], row["agency"], role, fields, reason)
    values = {**now, **first}
    for revision in revisions:
        changed: dict[str, tuple[Any, Any]] = dict(revision.fields)
        if revision.recorded_at:
            changed["recorded_at"] = (None, revision.recorded_at)
        changed["imported_from"] = (None, source)
        values.update({name: after for name, (_, after) in revision.fields.items()})
        yield Change("edit", row["code"], row["agency"], role, changed, revision.reason)
    rest = {name: (values[name], now[name]) for name in REVISED if values[name] != now[name]}
    if rest:
        yield Change("edit", row["code"], row["agency"], role, rest, reason)
