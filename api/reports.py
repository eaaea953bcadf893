"""Progress reports with photos and documents: ``POST /api/projects/{code}/progress``
(multipart), the officials' queue of pending reports and their decisions, and ``/files/``,
which serves the files of approved reports (``geo.reports``, ``geo.uploads``).

The multipart body is read only after the caller is known to be allowed to report, and only
when its declared length is within the limits (413), so an anonymous request never makes the
portal spool a large upload. Every file is checked and cleaned before the transaction opens;
a refusal at any step leaves the database and the file store as they were.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from api.auth import requires
from api.database import Database, database
from api.problems import Problem, documented
from api.project_writes import actor_of, refusals_as_problems
from api.projects import ProjectCode
from api.writer import Writer, writer
from geo import documents, reports, uploads
from geo.accounts import Principal
from geo.settings import Settings
from geo.uploads import FileStore, UploadRefused

router = APIRouter(tags=["reports"])
Reporters = Annotated[Principal, Depends(requires(*reports.REPORTERS))]
Deciders = Annotated[Principal, Depends(requires(*reports.DECIDERS))]
Store = Annotated[Writer, Depends(writer)]
ReportId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The report's id")]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256")]
FORM_SLACK = 2**20  # the form's fields and part headers, beyond the files themselves
MULTIPART = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": list(reports.REQUIRED),
            "properties": {
                "reported_on": {"type": "string", "format": "date"},
                "actual": {"type": "number", "minimum": 0, "maximum": 100},
                "planned": {"type": "number", "minimum": 0, "maximum": 100},
                "spent_to_date": {"type": "number", "minimum": 0},
                "note": {"type": "string", "maxLength": 2000},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
            },
        }
    }
}
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: documented("This account may not report on, or decide for, this project."),
    404: documented("There is no such project or report."),
    409: documented("The project is withdrawn, the date has a report, or it is decided."),
    411: documented("An upload must declare its length."),
    413: documented("A file is too large, or there are too many."),
    415: documented("A file is not a JPEG, PNG, WebP or PDF by its content."),
    422: documented("Fields that cannot be stored, each with its reason."),
}


async def file_store(request: Request) -> FileStore:
    settings: Settings = request.app.state.settings
    return FileStore(settings.files_root)


Files = Annotated[FileStore, Depends(file_store)]
Contractors = Annotated[Principal, Depends(requires("contractor"))]


async def _form(request: Request, settings: Settings) -> tuple[dict[str, Any], list[UploadFile]]:
    """The report's fields and files, once the body's declared length is within limits."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise Problem(411, "Send the report with its Content-Length.", param="Content-Length")
    longest = settings.upload_max_files * settings.upload_max_bytes + FORM_SLACK
    if int(declared) > longest:
        raise Problem(413, f"The report is larger than {longest // 2**20} MB in all.",
                      param="files")  # fmt: skip
    try:
        form = await request.form(max_files=settings.upload_max_files + 1)
    except Exception as exc:  # starlette's refusal of a malformed multipart body
        raise Problem(422, f"The body is not a readable multipart form ({exc}).",
                      param="files") from None  # fmt: skip
    files = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != "files":
                raise Problem(422, f"Files go in the field 'files', not {name!r}.", param=name)
        elif name == "files" or name in fields:
            raise Problem(422, f"The field {name!r} is given twice.", param=name)
        else:
            fields[name] = value or None
    if len(files) > settings.upload_max_files:
        raise Problem(413, f"A report carries at most {settings.upload_max_files} files.",
                      param="files")  # fmt: skip
    return fields, files


async def _prepared(files: list[UploadFile], max_bytes: int) -> list[uploads.Prepared]:
    ready = []
    for file in files:
        name = file.filename or "file"
        data = await file.read(max_bytes + 1)
        try:
            ready.append(uploads.prepare(name, data, max_bytes))
        except UploadRefused as refused:
            raise Problem(refused.status, f"{name}: {refused.reason}.", param="files") from None
    return ready


@router.post(
    "/api/projects/{code}/progress",
    status_code=201,
    responses=REFUSALS,
    openapi_extra={"requestBody": {"required": True, "content": MULTIPART}},
)
async def report(
    code: ProjectCode, request: Request, who: Reporters, store: Store, files: Files
) -> dict[str, Any]:
    """A progress report (date, actual %, planned %, spent to date, note) with photos and
    documents: pending until an official of the agency approves it when a contractor makes
    it, approved at once when an official or an admin does."""
    settings: Settings = request.app.state.settings
    fields, uploaded = await _form(request, settings)
    ready = await _prepared(uploaded, settings.upload_max_bytes)
    with files.staging() as staged:
        done = await refusals_as_problems(
            store.transaction(
                lambda conn: reports.submit(conn, actor_of(who), code, fields, ready, staged)
            )
        )
    return {"id": done.id, "state": done.state, "files": list(done.documents)}


@router.get("/api/reports/pending", responses={403: REFUSALS[403]})
async def waiting(who: Deciders, store: Store) -> list[dict[str, Any]]:
    """The reports waiting for a decision: an official's agency's, or all for an admin."""
    return await refusals_as_problems(
        store.transaction(lambda conn: reports.pending(conn, actor_of(who)))
    )


async def _decide(who: Principal, store: Writer, report_id: int, approve: bool) -> dict[str, Any]:
    state = await refusals_as_problems(
        store.transaction(lambda conn: reports.decide(conn, actor_of(who), report_id, approve))
    )
    return {"id": report_id, "state": state}


@router.post("/api/reports/{report_id}/approve", responses=REFUSALS)
async def approve(report_id: ReportId, who: Deciders, store: Store) -> dict[str, Any]:
    """Approve a pending report: it becomes public and moves the project's progress."""
    return await _decide(who, store, report_id, True)


@router.post("/api/reports/{report_id}/reject", responses=REFUSALS)
async def reject(report_id: ReportId, who: Deciders, store: Store) -> dict[str, Any]:
    """Reject a pending report: it and its files stay out of the public record."""
    return await _decide(who, store, report_id, False)


def _file(files: FileStore, path: str, media_type: str, title: str, cache: str) -> FileResponse:
    headers = {"Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": cache}
    if media_type == uploads.PDF:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(title)}"
    return FileResponse(files.open(path), media_type=media_type, headers=headers)


async def _serve(db: Database, files: FileStore, sha256: str, thumbnail: bool) -> FileResponse:
    row = await db.first(documents.stored_file(sha256, thumbnail))
    if row is None or not files.open(row[0]).is_file():
        raise Problem(404, f"No public document has the file {sha256}.", param="sha256")
    path, media_type, title = row
    return _file(files, path, media_type, title, cache="public, max-age=86400")


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in (*uploads.IMAGES, uploads.PDF)}, "description": "The file"},
    404: documented("No public document has this file."),
}


@router.get("/files/{sha256}", response_class=FileResponse, responses=FILE_RESPONSES)
async def stored(
    sha256: Sha256, db: Annotated[Database, Depends(database)], files: Files
) -> FileResponse:
    """A file of an approved progress report, as stored (photos cleaned of EXIF)."""
    return await _serve(db, files, sha256, False)


@router.get("/files/{sha256}/thumbnail", response_class=FileResponse, responses=FILE_RESPONSES)
async def thumbnail(
    sha256: Sha256, db: Annotated[Database, Depends(database)], files: Files
) -> FileResponse:
    """The thumbnail of a photo of an approved progress report (WebP)."""
    return await _serve(db, files, sha256, True)


@router.get("/api/reports/assigned", responses={403: REFUSALS[403]})
async def assigned(who: Contractors, store: Store) -> list[dict[str, Any]]:
    """The projects this contractor is named on, with the reports it made on each and their
    state (pending, approved, rejected)."""
    return await refusals_as_problems(
        store.transaction(lambda conn: reports.assigned(conn, actor_of(who)))
    )


async def _private(
    who: Principal, store: Writer, files: FileStore, report_id: int, sha256: str, thumbnail: bool
) -> FileResponse:
    found = await refusals_as_problems(
        store.transaction(
            lambda conn: reports.report_file(conn, actor_of(who), report_id, sha256,
                                             thumbnail=thumbnail)
        )
    )  # fmt: skip
    if not files.open(found.path).is_file():
        raise Problem(404, f"Report {report_id}'s file {sha256} is not in the file store.",
                      param="sha256")  # fmt: skip
    return _file(files, found.path, found.media_type, found.title, cache="private, no-store")


PRIVATE_RESPONSES = {**FILE_RESPONSES, 403: REFUSALS[403]}


@router.get(
    "/api/reports/{report_id}/files/{sha256}",
    response_class=FileResponse,
    responses=PRIVATE_RESPONSES,
)
async def report_file(
    report_id: ReportId, sha256: Sha256, who: Reporters, store: Store, files: Files
) -> FileResponse:
    """A file of a report, pending or decided, for the officials of the project's agency,
    the contractor named on it and admins (the public's copy is ``/files/{sha256}`` once the
    report is approved)."""
    return await _private(who, store, files, report_id, sha256, False)


@router.get(
    "/api/reports/{report_id}/files/{sha256}/thumbnail",
    response_class=FileResponse,
    responses=PRIVATE_RESPONSES,
)
async def report_thumbnail(
    report_id: ReportId, sha256: Sha256, who: Reporters, store: Store, files: Files
) -> FileResponse:
    """The thumbnail of a report's photo, for who may see the report (WebP)."""
    return await _private(who, store, files, report_id, sha256, True)
