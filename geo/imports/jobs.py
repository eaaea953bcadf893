"""Imports sent to the API: each a row of ``imports`` that any API process can answer for.

The process that receives the upload stores the file by its SHA-256 (beside the reports'
files, so that every process behind a balancer finds it), records the job, and runs it in a
worker thread: the import itself in one transaction, its progress and its outcome in short
ones of their own, so that a poll sees how far it got while it runs. A dry run's job can then
be applied: the same file and mapping, imported for real.

Who may see or apply a job: officials its agency's, and admins.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from geo.imports import ImportRefused
from geo.imports.load import Options, import_file
from geo.imports.mapping import parse_mapping
from geo.project_writes import Actor, WriteError

IMPORTERS = ("official", "admin")
PROGRESS_EVERY_S = 1.0
log = logging.getLogger(__name__)

COLUMNS = (
    "id, created_at, updated_at, agency_code AS agency, file_name, sha256, mapping, options, "
    "dry_run, state, rows_read, report, problem"
)

INSERT = f"""
    INSERT INTO imports (user_id, agency_code, file_name, sha256, mapping, options, dry_run)
    VALUES (:user, :agency, :name, :sha, CAST(:mapping AS jsonb), CAST(:options AS jsonb), :dry)
    RETURNING {COLUMNS}
"""  # noqa: S608 - constant


def agency_for(actor: Actor, asked: str | None) -> str | None:
    """The agency an import is for: an official's own, or the one an admin names."""
    if actor.role not in IMPORTERS:
        raise WriteError(403, f"A {actor.role} does not import projects; officials and admins do.")
    if actor.role == "official":
        if asked not in (None, actor.agency):
            raise WriteError(403, "An official imports only the projects of its own agency.")
        return actor.agency
    return asked


def create(
    conn: Connection,
    actor: Actor,
    file_name: str,
    sha256: str,
    mapping: dict[str, Any],
    options: dict[str, Any],
    dry_run: bool,
) -> dict[str, Any]:
    """A new running job; the mapping is checked first (ImportRefused), and the agency."""
    parse_mapping(mapping)
    agency = options.get("agency")
    known = text("SELECT FROM agencies WHERE code = :a")
    if agency and conn.execute(known, {"a": agency}).first() is None:
        raise WriteError(422, f"There is no agency {agency!r}.", [("agency", "no such agency")])
    row = conn.execute(
        text(INSERT),
        {
            "user": actor.user_id,
            "agency": options.get("agency"),
            "name": file_name,
            "sha": sha256,
            "mapping": json.dumps(mapping, ensure_ascii=False),
            "options": json.dumps(options),
            "dry": dry_run,
        },
    )
    return dict(row.mappings().one())


def found(conn: Connection, actor: Actor, job_id: int) -> dict[str, Any]:
    """The job, when the actor may see it (404 or 403 otherwise)."""
    row = conn.execute(
        text(f"SELECT {COLUMNS} FROM imports WHERE id = :id"),  # noqa: S608 - constant
        {"id": job_id},
    ).mappings().first()  # fmt: skip
    if row is None:
        raise WriteError(404, f"There is no import {job_id}.")
    if actor.role not in IMPORTERS or (actor.role == "official" and row["agency"] != actor.agency):
        raise WriteError(403, "Only the officials of the import's agency and admins see it.")
    return dict(row)


def _update(engine: Engine, job_id: int, **values: Any) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE imports SET {sets}, updated_at = now() WHERE id = :id"),  # noqa: S608
            {**values, "id": job_id},
        )


def run(engine: Engine, job: dict[str, Any], path: Path, max_bytes: int) -> None:
    """Import ``path`` as ``job`` says, recording its progress and its outcome."""
    last = [0.0]

    def progress(rows: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            _update(engine, job["id"], rows_read=rows)

    settings = dict(job["options"])
    options = Options(
        agency=settings.get("agency"),
        crs=settings.get("crs"),
        swap_axes=bool(settings.get("swap_axes")),
        unmapped_drafts=bool(settings.get("unmapped_drafts")),
        layer=settings.get("layer"),
        dry_run=job["dry_run"],
        role=settings["role"],
        name=job["file_name"],
    )
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # bounded by the file
            report = import_file(conn, path, parse_mapping(job["mapping"]), options,
                                 progress=progress, max_bytes=max_bytes)  # fmt: skip
    except ImportRefused as refused:
        errors = [{"parameter": f, "reason": r} for f, r in refused.errors]
        problem = {"status": refused.status, "detail": refused.reason, "errors": errors}
        _update(engine, job["id"], state="refused", problem=json.dumps(problem))
        return
    except Exception:
        log.exception("import %s failed", job["id"])
        problem = {"status": 503, "detail": "The import failed in the database; try again."}
        _update(engine, job["id"], state="failed", problem=json.dumps(problem))
        return
    _update(engine, job["id"], state="done", rows_read=report.rows,
            report=json.dumps(report.as_dict(), ensure_ascii=False))  # fmt: skip
