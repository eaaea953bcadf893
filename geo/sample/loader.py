"""Loading sample projects into the city a database holds, with COPY, in one transaction."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, text

from geo.boundaries import Area, stored_areas
from geo.errors import AllimiError
from geo.jurisdiction import stored_jurisdiction
from geo.sample.catalogue import Catalogue, catalogue_for
from geo.sample.generator import (
    DOCUMENT_COLUMNS,
    PROJECT_COLUMNS,
    REPORT_COLUMNS,
    SampleSpec,
    generate,
)
from geo.store.database import engine_for


@dataclass(frozen=True)
class LoadResult:
    projects: int
    reports: int
    documents: int
    seconds: float


def store_agencies(conn: Connection, catalogue: Catalogue, districts: list[Area]) -> None:
    """The catalogue's agencies and the districts' offices (added, or renamed)."""
    conn.execute(
        text(
            """
            INSERT INTO agencies (code, name, phone)
            VALUES (:code, CAST(:name AS jsonb), :phone)
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, phone = excluded.phone
            """
        ),
        [
            {"code": a.code, "name": json.dumps(a.name, ensure_ascii=False), "phone": a.phone}
            for a in catalogue.agencies(districts)
        ],
    )


def _copy(conn: Connection, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d")
    buffer.seek(0)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)", buffer)
    finally:
        cursor.close()


def _timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps in ISO form with their offset, so COPY keeps the instant."""
    out = frame.copy()
    for column in ("created_at", "updated_at"):
        out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return out


def load_sample(
    url: str,
    spec: SampleSpec,
    *,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Load ``spec.projects`` synthetic projects, and their agencies, into the city the
    database holds (its districts, neighbourhoods, language, currency, time zone and codes).

    Refuses a database that already holds projects unless ``replace``, which removes the
    sample projects (and only those) first.
    """
    started = time.perf_counter()
    engine = engine_for(url)
    counts = {"projects": 0, "reports": 0, "documents": 0}
    try:
        with engine.begin() as conn:
            existing = conn.execute(text("SELECT count(*) FROM projects")).scalar_one()
            if existing and not replace:
                raise AllimiError(
                    f"The database already holds {existing} projects; run 'allimi demo "
                    "--replace' to replace the sample projects, or use an empty database."
                )
            if existing:
                conn.execute(text("DELETE FROM projects WHERE is_sample"))
            areas = stored_areas(conn)
            districts = [a for a in areas if a.level == 1]
            dongs = [a for a in areas if a.level == 2] or districts
            jurisdiction = stored_jurisdiction(conn)
            if not districts or jurisdiction is None:
                raise AllimiError("No city is set up in this database; run 'allimi city init'.")
            catalogue = catalogue_for(jurisdiction)
            store_agencies(conn, catalogue, districts)
            first_id = conn.execute(
                text("SELECT coalesce(max(id), 0) + 1 FROM projects")
            ).scalar_one()
            spec = SampleSpec(spec.projects, spec.seed, spec.as_of, first_id)
            for batch in generate(spec, catalogue, districts, dongs):
                _copy(conn, "projects", PROJECT_COLUMNS, _timestamps(batch.projects))
                _copy(conn, "progress_reports", REPORT_COLUMNS, batch.reports)
                _copy(conn, "documents", DOCUMENT_COLUMNS, batch.documents)
                counts["projects"] += len(batch.projects)
                counts["reports"] += len(batch.reports)
                counts["documents"] += len(batch.documents)
                if progress:
                    progress(counts["projects"])
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('projects', 'id'), "
                    "(SELECT coalesce(max(id), 1) FROM projects))"
                )
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE projects, progress_reports, documents, districts"))
    finally:
        engine.dispose()
    return LoadResult(seconds=time.perf_counter() - started, **counts)
