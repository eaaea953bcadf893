"""The pages a browser loads: the map page, the API docs, the client's static files and its
libraries (from npm, pinned in web/package-lock.json, served from here: no CDN)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.city import City, city
from api.rendering import templates
from api.security import allow_inline
from geo.errors import AllimiError
from web import GEOMAN_DIR, LEAFLET_DIR, NODE_MODULES, REDOC_DIR, STATIC_DIR, SWAGGER_UI_DIR
from web.messages import message, messages

router = APIRouter(include_in_schema=False)
FAVICON = "/static/favicon.svg"
# The planner view's timeline (vis-timeline, dual Apache-2.0/MIT): its "peer" build, which takes
# moment and vis-data from their own files and its styles from its stylesheet (the standalone
# build writes them into <style> elements, which the pages' policy refuses)
MOMENT_DIR = NODE_MODULES / "moment" / "min"
VIS_DATA_DIR = NODE_MODULES / "vis-data" / "peer" / "umd"
VIS_TIMELINE_DIR = NODE_MODULES / "vis-timeline"
# URL prefix, directory, and the files of it served (None: all)
VENDOR: dict[str, tuple[Path, frozenset[str] | None]] = {
    "/vendor/leaflet": (LEAFLET_DIR, None),
    # the editor's drawing tools (MIT): the bundle and its styles, not the sources and maps
    "/vendor/geoman": (GEOMAN_DIR, frozenset({"leaflet-geoman.min.js", "leaflet-geoman.css"})),
    # not the package's demo index.html, which would load an API from the internet
    "/vendor/swagger-ui": (SWAGGER_UI_DIR, frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})),
    "/vendor/redoc": (REDOC_DIR, frozenset({"redoc.standalone.js"})),
    "/vendor/moment": (MOMENT_DIR, frozenset({"moment.min.js"})),
    "/vendor/vis-data": (VIS_DATA_DIR, frozenset({"vis-data.min.js"})),
    "/vendor/vis-timeline": (
        VIS_TIMELINE_DIR,
        frozenset({"peer/umd/vis-timeline-graph2d.min.js", "styles/vis-timeline-graph2d.min.css"}),
    ),
}
# What Redoc 2.5.4's script adds to its page: <style> elements, empty ones that
# styled-components fills through the CSSOM (which the policy does not govern) and
# perfect-scrollbar's stylesheet, and its search worker, made from a blob. Another Redoc may add
# others: tests/test_web.py then fails, and Chromium's console names their hashes.
REDOC_ADDS = {
    "style-src": (
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ),
    "worker-src": ("blob:",),
}


def _page(template: str, here: City, lang: str | None) -> HTMLResponse:
    """A page of the web client, its texts in ``lang`` when the city offers it, else in the
    city's default language (the script then shows the reader's choice)."""
    j = here.jurisdiction
    lang = lang if lang in j.languages else j.language
    values = {
        key: texts.get(lang) or j.local(texts)
        for key, texts in (("city", j.name), ("level", j.levels[0]))
    }
    page = templates.get_template(template).render(
        lang=lang,
        t=lambda key, **slots: message(lang, key, **values, **slots),
        languages=[(code, messages(code).get("language.name", code)) for code in j.languages],
    )
    return HTMLResponse(page)


@router.get("/")
async def home(here: Annotated[City, Depends(city)], lang: str | None = None) -> HTMLResponse:
    """The map page."""
    return _page("index.html", here, lang)


@router.get("/edit")
async def editor(here: Annotated[City, Depends(city)], lang: str | None = None) -> HTMLResponse:
    """The officials' editor: a sign-in form, then the map with drawing tools and the
    project's form. Its script writes through the API with the official's token."""
    return _page("edit.html", here, lang)


@router.get("/plan")
async def planner(here: Annotated[City, Depends(city)], lang: str | None = None) -> HTMLResponse:
    """The planners' view: a sign-in form, then the conflicts on a map and in a table, the
    selected one's works, workflow and place's timeline. Its script reads and writes through
    the API with the planner's token."""
    return _page("plan.html", here, lang)


@router.get("/admin")
async def admin(here: Annotated[City, Depends(city)], lang: str | None = None) -> HTMLResponse:
    """The admins' page: a static shell (its script signs in, and shows nothing without an
    admin's token)."""
    return _page("admin.html", here, lang)


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
    )
    return allow_inline(request, page)


@router.get("/redoc")
def redoc(request: Request) -> Response:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        redoc_js_url="/vendor/redoc/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    return allow_inline(request, page, REDOC_ADDS)


class Files(StaticFiles):
    """A directory's files, or only ``only`` of them."""

    def __init__(self, directory: Path, only: frozenset[str] | None) -> None:
        super().__init__(directory=directory)
        self.only = only

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if self.only is not None and path not in self.only:
            return "", None
        return super().lookup_path(path)


def mount_static(app: FastAPI) -> None:
    """Our scripts and styles under /static, the libraries under /vendor/<name>."""
    for directory, only in VENDOR.values():
        for path in (directory, *(directory / name for name in only or ())):
            if not path.exists():
                raise AllimiError(f"{path} is missing; run 'sh scripts/setup' (npm ci in web/).")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for prefix, (directory, only) in VENDOR.items():
        app.mount(prefix, Files(directory, only), name=prefix.removeprefix("/vendor/"))
