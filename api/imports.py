"""Officials import files: ``POST /api/imports`` (multipart: the file, its mapping, a dry run or
not), answered at once with a job to poll at ``GET /api/imports/{id}``; ``POST
/api/imports/{id}/apply`` imports a dry run's file for real (``geo.imports``).

The upload is read only once the caller may import and its declared length is within
``ALLIMI_IMPORT_MAX_MB``; it is checked (a readable file of a known kind, with the mapping's
columns) before it is kept, so a refused one leaves the file store as it was.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import yaml
from anyio import to_thread
from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi import Path as PathParam
from starlette.datastructures import UploadFile

from api.auth import requires
from api.problems import Problem, documented
from api.project_writes import actor_of, refusals_as_problems
from api.writer import Writer, writer
from geo.accounts import Principal
from geo.imports import ImportRefused, jobs
from geo.imports.load import inspect
from geo.imports.mapping import parse_mapping
from geo.project_writes import WriteError
from geo.settings import Settings

router = APIRouter(tags=["imports"])
Importers = Annotated[Principal, Depends(requires(*jobs.IMPORTERS))]
Store = Annotated[Writer, Depends(writer)]
JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The import's id")]
FORM_SLACK = 2**20  # the form's other fields and part headers
OPTIONS = ("crs", "layer", "agency")
FLAGS = ("dry_run", "swap_axes", "unmapped_drafts")
MULTIPART = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "mapping": {"type": "string", "description": "The field mapping, YAML or JSON"},
                "dry_run": {"type": "boolean", "default": True},
                "crs": {"type": "string", "description": "The CRS of a file naming none"},
                "layer": {"type": "string", "description": "A GeoPackage's layer"},
                "swap_axes": {"type": "boolean", "default": False},
                "unmapped_drafts": {
                    "type": "boolean",
                    "default": False,
                    "description": "Keep rows without geometry as drafts to draw",
                },
                "agency": {"type": "string", "description": "An admin's: the agency"},
            },
        }
    }
}
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: documented("This account may not import, or not for this agency."),
    404: documented("There is no such import."),
    409: documented("The import is not a finished dry run without rejected rows."),
    411: documented("An upload must declare its length."),
    413: documented("The file is too large, or unpacks to too much."),
    422: documented("The file or the mapping cannot be used, with the reason."),
}


def _problem(refused: ImportRefused) -> Problem:
    param = refused.errors[0][0] if refused.errors else "file"
    return Problem(refused.status, refused.reason, param=param, errors=refused.errors)


def _flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("true", "false", "1", "0"):
        raise Problem(422, f"{name} is true or false, not {value!r}.", param=name)
    return value.lower() in ("true", "1")


async def _form(request: Request, settings: Settings) -> tuple[dict[str, Any], UploadFile]:
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise Problem(411, "Send the file with its Content-Length.", param="Content-Length")
    if int(declared) > settings.import_max_bytes + FORM_SLACK:
        raise Problem(413, f"The file is larger than {settings.import_max_mb:g} MB.",
                      param="file")  # fmt: skip
    try:
        form = await request.form(max_files=1, max_part_size=FORM_SLACK)
    except Exception as exc:  # starlette's refusal of a malformed multipart body
        raise Problem(422, f"The body is not a readable multipart form ({exc}).",
                      param="file") from None  # fmt: skip
    fields: dict[str, Any] = {}
    upload = None
    for name, value in form.multi_items():
        if name in fields or (name == "file" and upload is not None):
            raise Problem(422, f"The field {name!r} is given twice.", param=name)
        if name == "file" and isinstance(value, UploadFile):
            upload = value
        elif name in (*OPTIONS, "mapping") and isinstance(value, str):
            fields[name] = value.strip() or None
        elif name in FLAGS and isinstance(value, str):
            fields[name] = _flag(value, name)
        else:
            raise Problem(422, f"{name!r} is not a field of an import.", param=name)
    if upload is None:
        raise Problem(422, "Send the file to import in the field 'file'.", param="file")
    return fields, upload


def _mapping(text: str | None) -> dict[str, Any]:
    try:
        given = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as exc:
        raise Problem(422, f"The mapping is no YAML or JSON: {exc}.", param="mapping") from None
    if not isinstance(given, dict):
        raise Problem(422, "The mapping is a YAML or JSON object.", param="mapping")
    try:
        parse_mapping(given)
    except ImportRefused as refused:
        raise _problem(refused) from None
    return given


async def _spooled(upload: UploadFile, folder: Path, max_bytes: int) -> tuple[Path, str]:
    """The upload written to a new file in ``folder``, with its SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    digest, size = hashlib.sha256(), 0
    with os.fdopen(handle, "wb") as out:
        while block := await upload.read(1 << 20):
            size += len(block)
            if size > max_bytes:
                out.close()
                Path(name).unlink()
                raise Problem(
                    413, f"The file is larger than {max_bytes // 2**20} MB.", param="file"
                )
            digest.update(block)
            out.write(block)
    return Path(name), digest.hexdigest()


def _kept(settings: Settings, sha256: str) -> Path:
    return settings.files_root / "imports" / sha256


def _started(job: dict[str, Any], response: Response) -> dict[str, Any]:
    response.headers["Location"] = f"/api/imports/{job['id']}"
    return job


@router.post(
    "/api/imports",
    status_code=202,
    responses=REFUSALS,
    openapi_extra={"requestBody": {"required": True, "content": MULTIPART}},
)
async def start(
    request: Request, who: Importers, store: Store, response: Response, later: BackgroundTasks
) -> dict[str, Any]:
    """Import a file (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV) with a field mapping:
    a dry run unless `dry_run` is false. Answered at once with the job; poll its `Location`."""
    settings: Settings = request.app.state.settings
    actor = actor_of(who)
    fields, upload = await _form(request, settings)
    try:
        agency = jobs.agency_for(actor, fields.get("agency"))
    except WriteError as refused:
        raise Problem(refused.status, refused.detail, param="agency") from None
    mapping = _mapping(fields.get("mapping"))
    spooled, sha256 = await _spooled(upload, settings.files_root / "imports",
                                     settings.import_max_bytes)  # fmt: skip
    try:
        await to_thread.run_sync(
            inspect, spooled, parse_mapping(mapping), fields.get("layer"), settings.import_max_bytes
        )
    except BaseException as exc:
        spooled.unlink()
        if isinstance(exc, ImportRefused):
            raise _problem(exc) from None
        raise
    options = {
        **{k: fields.get(k) for k in OPTIONS},
        "agency": agency,
        "swap_axes": bool(fields.get("swap_axes")),
        "unmapped_drafts": bool(fields.get("unmapped_drafts")),
        "role": who.role,
    }
    dry_run = fields.get("dry_run") is not False
    name = Path(upload.filename or "upload").name[:200]
    try:
        job = await refusals_as_problems(
            store.transaction(
                lambda conn: jobs.create(conn, actor, name, sha256, mapping, options, dry_run)
            )
        )
    except BaseException:
        spooled.unlink()
        raise
    spooled.replace(_kept(settings, sha256))
    later.add_task(jobs.run, store.engine, job, _kept(settings, sha256), settings.import_max_bytes)
    return _started(job, response)


@router.get("/api/imports/{job_id}", responses=REFUSALS)
async def status(job_id: JobId, who: Importers, store: Store, response: Response) -> dict[str, Any]:
    """The import as it stands: `running` (with `rows_read`), `done` (with its report),
    `refused` or `failed` (with the problem)."""
    response.headers["Cache-Control"] = "private, no-store"
    actor = actor_of(who)
    return await refusals_as_problems(
        store.transaction(lambda conn: jobs.found(conn, actor, job_id))
    )


@router.post("/api/imports/{job_id}/apply", status_code=202, responses=REFUSALS)
async def apply(
    job_id: JobId, request: Request, who: Importers, store: Store, response: Response,
    later: BackgroundTasks,
) -> dict[str, Any]:  # fmt: skip
    """Import a finished dry run's file for real, with its mapping and options: a new job."""
    settings: Settings = request.app.state.settings
    actor = actor_of(who)
    job = await refusals_as_problems(
        store.transaction(lambda conn: jobs.found(conn, actor, job_id))
    )
    report = job["report"] or {}
    if not (job["dry_run"] and job["state"] == "done" and not report.get("rejected")):
        raise Problem(409, "Only a finished dry run without rejected rows is applied.",
                      param="job_id")  # fmt: skip
    options = {**job["options"], "role": who.role}
    made = await store.transaction(
        lambda conn: jobs.create(
            conn, actor, job["file_name"], job["sha256"], job["mapping"], options, False
        )
    )
    later.add_task(jobs.run, store.engine, made, _kept(settings, made["sha256"]),
                   settings.import_max_bytes)  # fmt: skip
    return _started(made, response)
