"""The pages a browser loads: the map page, the client's static files and its libraries."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from geo.errors import AllimiError
from web import LEAFLET_DIR, STATIC_DIR, TEMPLATES_DIR

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> FileResponse:
    return FileResponse(TEMPLATES_DIR / "index.html", media_type="text/html")


def mount_static(app: FastAPI) -> None:
    """Our scripts and styles under /static, Leaflet (from npm, pinned) under /vendor/leaflet."""
    if not (LEAFLET_DIR / "leaflet.js").exists():
        raise AllimiError(
            f"Leaflet is not installed in {LEAFLET_DIR}; run 'sh scripts/setup' (npm ci in web/)."
        )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/vendor/leaflet", StaticFiles(directory=LEAFLET_DIR), name="leaflet")
