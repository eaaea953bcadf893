"""``/sample-documents/{code}/{document_type}``: stand-ins for the synthetic demo's documents.

The demo city lists a plan, a contract summary, a site photo and a completion report for its
projects. None of them exists; each is served as a page (web/templates/sample_document.html)
or, for the photo, a drawing (web/templates/sample_photo.svg) that says plainly, in each of the
city's languages, that it is a synthetic sample standing in for the real document.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from api.caching import cached
from api.city import City, city
from api.database import Database
from api.problems import Problem, documented
from api.rendering import formatter, in_each, templates, texts
from geo import documents

router = APIRouter(tags=["pages"])
SVG = "image/svg+xml"
HTML = "text/html"
# The documents render nothing from elsewhere and run no script.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
BANNER_COLUMNS = 44  # what fits across the photo's banner; a wide (CJK) character takes two
BANNER_LINES = 2


def _columns(text: str) -> int:
    """How wide ``text`` is: two columns a wide character, none a combining mark."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _pieces(title: str) -> list[str]:
    """``title``'s words, a word wider than the banner (a script written without spaces) cut
    into pieces that fit."""
    pieces: list[str] = []
    for word in title.split():
        piece = ""
        for char in word:
            if piece and _columns(piece + char) > BANNER_COLUMNS:
                pieces.append(piece)
                piece = ""
            piece += char
        pieces.append(piece)
    return pieces


def banner_lines(title: str) -> list[str]:
    """``title`` in the lines the photo's banner holds, the last cut short with " …" when it
    holds less."""
    lines: list[str] = []
    for piece in _pieces(title):
        if lines and _columns(f"{lines[-1]} {piece}") <= BANNER_COLUMNS:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    if len(lines) > BANNER_LINES:
        last = lines[BANNER_LINES - 1]
        while _columns(last + " …") > BANNER_COLUMNS:
            last = last[:-1]
        lines = [*lines[: BANNER_LINES - 1], last.rstrip() + " …"]
    return lines


def render(document_type: str, row: dict[str, Any], here: City) -> str:
    """The drawing or page standing in for one sample document, in the city's languages."""
    langs = here.jurisdiction.languages
    if document_type == "illustration":
        return templates.get_template("sample_photo.svg").render(
            lang=langs[0],
            title=row["project_title"],
            label=in_each(langs, "sample_document.photo"),
            lines=banner_lines(row["project_title"]),
            code=row["code"],
        )
    fmt = formatter(langs[0], here.jurisdiction.currency, here)
    published = row["published_on"]
    return templates.get_template("sample_document.html").render(
        langs=langs,
        t={lang: texts(lang) for lang in langs},
        in_each=in_each,
        kinds={lang: here.label("document_type", document_type, lang) for lang in langs},
        title=row["title"],
        project_title=row["project_title"],
        code=row["code"],
        published_on=fmt.day(published.isoformat()) if published else None,
    )


@router.get(
    "/sample-documents/{code}/{document_type}",
    response_class=Response,
    responses={
        200: {"content": {HTML: {}, SVG: {}}, "description": "The stand-in document"},
        404: documented("No published sample project has this document."),
    },
)
async def sample_document(
    request: Request,
    code: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")],
    document_type: Annotated[str, Path(max_length=60, pattern=r"^[A-Za-z.]+$")],
    here: Annotated[City, Depends(city)],
) -> Response:
    """A synthetic sample project's document: a drawing for its photo, else a labelled page."""
    url = f"/sample-documents/{code}/{document_type}"

    async def produce(db: Database) -> str:
        row = await db.first(documents.sample_document(code, document_type, url))
        if row is None:
            raise Problem(
                404, f"No sample project {code} has a {document_type} document.", param="code"
            )
        return render(document_type, dict(zip(documents.SAMPLE_COLUMNS, row, strict=True)), here)

    media_type = SVG if document_type == "illustration" else HTML
    response = await cached(request, media_type, produce)
    response.headers["Content-Security-Policy"] = CSP
    return response
