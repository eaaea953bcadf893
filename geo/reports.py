"""Progress reports: a contractor's wait for an official of the project's agency; an
official's (or an admin's) are approved as they are made.

An approved report moves the project's progress and money spent (when it is the latest one)
and, for a published project, appends a ``report`` entry to the change log, in the caller's
transaction. Its photos are flagged when their EXIF says they were taken more than
``geo.flags.PHOTO_FAR_M`` from the works or outside the project's period: the disclosure
shows the sentence.
Pending and rejected reports, and their files, are never public (``disclosed`` views).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import Connection, text

from geo.changelog import Change, appended
from geo.flags import period, photo_flags
from geo.project_writes import Actor, Money, Percent, WriteError
from geo.transaction import run
from geo.uploads import FileStore, Prepared, Staging

REPORTERS = ("contractor", "official", "admin")
DECIDERS = ("official", "admin")
PHOTO = "illustration"  # OC4IDS document types
DOCUMENT = "physicalProgressReport"
LONGEST_TITLE = 200

FIELDS: dict[str, Any] = {
    "reported_on": date,
    "actual": Percent,
    "planned": Percent | None,
    "spent_to_date": Money,
    "note": Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None,
}
ADAPTERS = {name: TypeAdapter(kind) for name, kind in FIELDS.items()}
REQUIRED = ("reported_on", "actual", "spent_to_date")

PROJECT = """
    SELECT p.id, p.code, p.agency_code, p.contractor, p.published, p.withdrawn_at,
           p.progress_actual, p.progress_planned, p.spent,
           {begins} AS begins, {ends} AS ends
    FROM projects p WHERE {where} AND NOT p.is_sample
    FOR NO KEY UPDATE
"""
REPORT = """
    SELECT r.id, r.project_id, r.reported_on, r.actual, r.planned, r.spent_to_date, r.state,
           u.role AS submitted_role
    FROM progress_reports r LEFT JOIN users u ON u.id = r.submitted_by
    WHERE r.id = :id FOR UPDATE OF r
"""
# A file of a report not yet public is served to who may see the report (``report_file``)
PRIVATE_URL = "'/api/reports/' || r.id || '/files/' || d.sha256"
PENDING = """
    SELECT r.id, p.code AS project, p.title, p.agency_code AS agency, r.reported_on, r.actual,
           r.planned, r.spent_to_date, r.note, u.role AS submitted_role,
           coalesce((SELECT json_agg(json_build_object(
                        'title', d.title, 'media_type', d.media_type, 'url', {private_url},
                        'thumbnail_url', CASE WHEN d.thumbnail_path IS NOT NULL
                                         THEN {private_url} || '/thumbnail' END,
                        'flag', d.flag,
                        'photo_flags', CASE WHEN d.flag IS NOT NULL THEN {photo_flags} END)
                        ORDER BY d.id)
                     FROM documents d WHERE d.report_id = r.id), '[]'::json) AS documents
    FROM progress_reports r JOIN projects p ON p.id = r.project_id
    LEFT JOIN users u ON u.id = r.submitted_by
    WHERE r.state = 'pending' AND (CAST(:agency AS text) IS NULL OR p.agency_code = :agency)
    ORDER BY r.id
""".format(  # noqa: S608 - the URL and the flags are constant SQL of this package
    private_url=PRIVATE_URL, photo_flags=photo_flags("d.taken_position", "d.taken_at")
)
# The projects a contractor is named on, with the reports it made on them
ASSIGNED = """
    SELECT p.code, p.title, p.agency_code AS agency, p.status, p.published, p.currency,
           p.progress_actual, p.progress_planned, p.spent, p.budget,
           p.planned_start, p.planned_end,
           coalesce((SELECT json_agg(json_build_object(
                        'id', r.id, 'reported_on', r.reported_on, 'actual', r.actual,
                        'spent_to_date', r.spent_to_date, 'state', r.state,
                        'files', (SELECT count(*) FROM documents d WHERE d.report_id = r.id))
                        ORDER BY r.reported_on DESC)
                     FROM progress_reports r WHERE r.project_id = p.id), '[]'::json) AS reports
    FROM projects p
    WHERE p.contractor = :contractor AND p.withdrawn_at IS NULL AND NOT p.is_sample
    ORDER BY p.planned_end DESC, p.code LIMIT :limit
"""
LONGEST_LIST = 500
REPORT_FILE = """
    SELECT d.file_path, d.thumbnail_path, d.media_type, d.title,
           p.agency_code, p.contractor
    FROM documents d JOIN progress_reports r ON r.id = d.report_id
    JOIN projects p ON p.id = r.project_id
    WHERE d.report_id = :report AND d.sha256 = :sha256
    LIMIT 1
"""
# Why a photo about to be stored may not show the works (geo.flags.photo_flags)
PHOTO_AT = photo_flags("ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)", "CAST(:taken AS timestamp)")
PLACE = f"SELECT {PHOTO_AT} FROM projects p WHERE p.id = :id"  # noqa: S608 - constant SQL


@dataclass(frozen=True)
class Submitted:
    id: int
    state: str
    documents: tuple[str, ...]  # the files' URLs


def _may_report(actor: Actor, project: Mapping[str, Any]) -> None:
    if actor.role == "contractor" and project["contractor"] != actor.contractor:
        raise WriteError(403, "A contractor reports only on the projects it is named on.")
    _may_decide_for(actor, project["agency_code"], "reports on")


def _may_decide_for(actor: Actor, agency: str, verb: str = "decides on reports of") -> None:
    if actor.role == "official" and agency != actor.agency:
        raise WriteError(403, f"An official {verb} the projects of its own agency only.")


def _project(conn: Connection, where: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The project, locked until the transaction ends; 404 when there is none."""
    begins, ends = period()
    statement = PROJECT.format(where=where, begins=begins, ends=ends)
    row = conn.execute(text(statement), params).mappings().first()
    if row is None:
        raise WriteError(404, f"There is no such project ({', '.join(map(str, params.values()))}).")
    return dict(row)


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in ADAPTERS:
            errors.append((name, "it is not a field of a progress report"))
            continue
        try:
            clean[name] = ADAPTERS[name].validate_python(value)
        except ValidationError as exc:
            errors.append((name, str(exc.errors()[0]["msg"])))
    errors += [(n, "it is required") for n in REQUIRED if n not in values]
    if errors:
        names = ", ".join(dict.fromkeys(f for f, _ in errors))
        raise WriteError(422, f"The report cannot be saved: see {names}.", errors)
    return clean


def photo_sentence(
    far_m: float | None, outside_on: str | None, project: Mapping[str, Any]
) -> str | None:
    """Why a photo may not show the works, as the disclosure says it; None when it may."""
    said = []
    if far_m is not None:
        said.append(f"photo taken {round(far_m)} m away" if far_m < 1000
                    else f"photo taken {far_m / 1000:.1f} km away")  # fmt: skip
    if outside_on is not None:
        said.append(
            f"photo taken on {outside_on}, outside the project's period "
            f"({project['begins']} to {project['ends']})"
        )
    return "; ".join(said) or None


def _flag(conn: Connection, project: Mapping[str, Any], file: Prepared) -> str | None:
    lon, lat = file.position or (None, None)
    found = conn.execute(
        text(PLACE), {"lon": lon, "lat": lat, "taken": file.taken_at, "id": project["id"]}
    ).scalar_one()
    return photo_sentence(found["far_m"], found["outside_on"], project)


def _store_files(
    conn: Connection,
    project: Mapping[str, Any],
    report_id: int,
    reported_on: date,
    files: Sequence[Prepared],
    staged: Staging,
) -> tuple[str, ...]:
    urls = []
    for file in files:
        path = FileStore.path_of(file.sha256)
        thumb = FileStore.path_of(file.sha256, thumbnail=True) if file.thumbnail else None
        url = f"/files/{file.sha256}"
        conn.execute(
            text(
                """
                INSERT INTO documents (project_id, report_id, title, document_type, url,
                    file_path, media_type, published_on, sha256, size, thumbnail_path,
                    taken_at, taken_position, flag)
                VALUES (:project, :report, :title, :type, :url, :path, :media_type, :on,
                    :sha, :size, :thumb, :taken_at,
                    CASE WHEN CAST(:lon AS float8) IS NOT NULL
                         THEN ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :flag)
                """
            ),
            {
                "project": project["id"],
                "report": report_id,
                "title": (file.name.rsplit("/", 1)[-1].strip() or url)[:LONGEST_TITLE],
                "type": PHOTO if file.is_image else DOCUMENT,
                "url": url,
                "path": path,
                "media_type": file.media_type,
                "on": reported_on,
                "sha": file.sha256,
                "size": len(file.data),
                "thumb": thumb,
                "taken_at": file.taken_at,
                "lon": file.position[0] if file.position else None,
                "lat": file.position[1] if file.position else None,
                "flag": _flag(conn, project, file) if file.is_image else None,
            },
        )
        staged.put(path, file.data)
        if thumb and file.thumbnail:
            staged.put(thumb, file.thumbnail)
        urls.append(url)
    return tuple(urls)


def _apply(conn: Connection, actor: Actor, project: Mapping[str, Any], report_id: int) -> None:
    """An approved report's figures become the project's, unless a later report's are; a
    published project's change is logged."""
    moved = conn.execute(
        text(
            """
            UPDATE projects p SET progress_actual = r.actual, progress_planned = r.planned,
                   spent = r.spent_to_date, updated_at = now()
            FROM progress_reports r
            WHERE r.id = :report AND p.id = r.project_id AND NOT EXISTS (
                SELECT FROM progress_reports later WHERE later.project_id = r.project_id
                AND later.state = 'approved' AND later.reported_on > r.reported_on)
            RETURNING p.progress_actual, p.progress_planned, p.spent, r.reported_on,
                      (SELECT u.role FROM users u WHERE u.id = r.submitted_by) AS reporter
            """
        ),
        {"report": report_id},
    ).mappings().first()  # fmt: skip
    if moved is None or not project["published"]:
        return
    fields: dict[str, tuple[Any, Any]] = {
        name: (project[name], moved[name])
        for name in ("progress_actual", "progress_planned", "spent")
        if project[name] != moved[name]
    }
    fields["reported_on"] = (None, moved["reported_on"])
    fields["reported_by"] = (None, moved["reporter"] or actor.role)
    change = Change("report", project["code"], project["agency_code"], actor.role, fields)
    run(conn, appended(change))


def submit(
    conn: Connection,
    actor: Actor,
    code: str,
    values: Mapping[str, Any],
    files: Sequence[Prepared],
    staged: Staging,
) -> Submitted:
    """A progress report on project ``code`` with its checked files: pending when a
    contractor makes it, approved (and applied) when an official of the agency or an admin
    does."""
    if actor.role not in REPORTERS:
        raise WriteError(403, f"A {actor.role} does not report progress.")
    project = _project(conn, "p.code = :code", {"code": code})
    _may_report(actor, project)
    if project["withdrawn_at"] is not None:
        raise WriteError(409, f"Project {code} is withdrawn; it takes no more reports.")
    clean = _checked(values)
    if clean.get("planned") is None:
        clean["planned"] = project["progress_planned"]
    clash = conn.execute(
        text("SELECT state FROM progress_reports WHERE project_id = :p AND reported_on = :d"),
        {"p": project["id"], "d": clean["reported_on"]},
    ).scalar()
    if clash is not None:
        raise WriteError(
            409,
            f"Project {code} already has a {clash} report of {clean['reported_on']}.",
            [("reported_on", f"a {clash} report of this date exists")],
        )
    state = "pending" if actor.role == "contractor" else "approved"
    report_id = conn.execute(
        text(
            """
            INSERT INTO progress_reports (project_id, reported_on, actual, planned,
                spent_to_date, note, state, submitted_by, decided_by, decided_at)
            VALUES (:project, :reported_on, :actual, :planned, :spent_to_date, :note, :state,
                :user, CASE WHEN :state = 'approved' THEN CAST(:user AS bigint) END,
                CASE WHEN :state = 'approved' THEN now() END)
            RETURNING id
            """
        ),
        {"note": None, **clean, "project": project["id"], "state": state, "user": actor.user_id},
    ).scalar_one()
    urls = _store_files(conn, project, report_id, clean["reported_on"], files, staged)
    if state == "approved":
        _apply(conn, actor, project, report_id)
    return Submitted(report_id, state, urls)


def decide(conn: Connection, actor: Actor, report_id: int, approve: bool) -> str:
    """Approve or reject a pending report; returns its new state."""
    if actor.role not in DECIDERS:
        raise WriteError(403, f"A {actor.role} does not decide on reports.")
    report = conn.execute(text(REPORT), {"id": report_id}).mappings().first()
    if report is None:
        raise WriteError(404, f"There is no progress report {report_id}.")
    project = _project(conn, "p.id = :id", {"id": report["project_id"]})
    _may_decide_for(actor, project["agency_code"])
    if report["state"] != "pending":
        raise WriteError(409, f"Report {report_id} is already {report['state']}.")
    state = "approved" if approve else "rejected"
    conn.execute(
        text(
            "UPDATE progress_reports SET state = :state, decided_by = :user, decided_at = now() "
            "WHERE id = :id"
        ),
        {"state": state, "user": actor.user_id, "id": report_id},
    )
    if approve:
        _apply(conn, actor, project, report_id)
    return state


def pending(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    """The reports waiting for ``actor``: its agency's (an official) or all (an admin)."""
    if actor.role not in DECIDERS:
        raise WriteError(403, f"A {actor.role} does not decide on reports.")
    agency = actor.agency if actor.role == "official" else None
    rows = conn.execute(text(PENDING), {"agency": agency}).mappings()
    return [_plain(dict(row)) for row in rows]


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (format(v, "f") if isinstance(v, Decimal) else v) for k, v in row.items()}


def assigned(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    """The projects a contractor is named on (not withdrawn), with the reports on each."""
    if actor.role != "contractor":
        raise WriteError(403, f"A {actor.role} is not named on projects as their contractor.")
    rows = conn.execute(text(ASSIGNED), {"contractor": actor.contractor, "limit": LONGEST_LIST})
    return [_plain(dict(row)) for row in rows.mappings()]


@dataclass(frozen=True)
class ReportFile:
    path: str
    media_type: str
    title: str


def report_file(
    conn: Connection, actor: Actor, report_id: int, sha256: str, *, thumbnail: bool
) -> ReportFile:
    """A file of a report, pending or decided, for who may see the report: the officials of
    the project's agency, the contractor named on it, and admins."""
    params = {"report": report_id, "sha256": sha256}
    row = conn.execute(text(REPORT_FILE), params).mappings().first()
    found = dict(row) if row else {}
    path = found.get("thumbnail_path" if thumbnail else "file_path")
    if path is None:
        raise WriteError(404, f"Report {report_id} has no such file.")
    if actor.role not in REPORTERS:
        raise WriteError(403, f"A {actor.role} does not see the files of reports.")
    _may_report(actor, found)
    return ReportFile(path, "image/webp" if thumbnail else found["media_type"], found["title"])
