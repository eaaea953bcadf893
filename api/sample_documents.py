"""``/sample-documents/{code}/{document_type}``: stand-ins for the synthetic demo's documents.

The demo city lists a plan, a contract summary, a site photo and a completion report for its
projects. None of them exists; each is served as a page (or, for the photo, a drawing) that says
plainly that it is a synthetic sample standing in for the real document.
"""

from __future__ import annotations

import textwrap
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from jinja2 import Environment

from api.caching import cached
from api.database import Database
from api.problems import Problem, documented
from geo.sql import Query

router = APIRouter(tags=["pages"])
SVG = "image/svg+xml"
HTML = "text/html"
# The documents render nothing from elsewhere and run no script.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"

TYPES = {
    "projectPlan": ("사업계획서", "Project plan"),
    "contractSummary": ("계약 개요", "Contract summary"),
    "illustration": ("현장 사진", "Site photo"),
    "completionCertificate": ("준공 보고서", "Completion report"),
}

templates = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

PHOTO = templates.from_string(
    """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 600" width="800" height="600"
     role="img" aria-label="{{ title }}: 합성 예시 사진 · Synthetic sample photo">
<title>{{ title }} · 합성 예시 사진 · Synthetic sample photo</title>
<defs>
  <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="#bcd7f0"/><stop offset="1" stop-color="#eef4fa"/>
  </linearGradient>
  <pattern id="stripes" width="28" height="28" patternUnits="userSpaceOnUse"
           patternTransform="rotate(45)">
    <rect width="28" height="28" fill="#f5c518"/><rect width="14" height="28" fill="#1f2933"/>
  </pattern>
</defs>
<rect width="800" height="600" fill="url(#sky)"/>
<circle cx="680" cy="110" r="38" fill="#fff6d5"/>
<g fill="#c9d3dd">
  <rect x="20" y="300" width="70" height="160"/><rect x="95" y="260" width="55" height="200"/>
  <rect x="600" y="280" width="80" height="180"/><rect x="690" y="320" width="90" height="140"/>
</g>
<rect y="455" width="800" height="145" fill="#b89f7e"/>
<rect y="455" width="800" height="10" fill="#9c8465"/>
<g stroke="#7b8794" stroke-width="6" fill="none">
  <rect x="300" y="250" width="220" height="205" fill="#e4e7eb"/>
  <path d="M300 320h220M300 390h220M373 250v205M447 250v205"/>
</g>
<g stroke="#c2410c" stroke-width="3" fill="none">
  <path d="M290 250v205M530 250v205M290 285h240M290 355h240M290 425h240"/>
  <path d="M290 250l40 35M490 250l40 35M290 355l40 35M490 355l40 35"/>
</g>
<g stroke="#e8a317" stroke-width="5" fill="none" stroke-linejoin="round">
  <path d="M200 455V120h24V455M200 150l24 30M224 180l-24 30M200 210l24 30M224 240l-24 30
           M200 270l24 30M224 300l-24 30M200 330l24 30M224 360l-24 30M200 390l24 30"/>
  <path d="M120 120h420v18H120zM212 120l-40-45h80z"/>
  <path d="M140 120v18M180 120v18M260 120v18M300 120v18M340 120v18M380 120v18M420 120v18
           M460 120v18M500 120v18"/>
</g>
<rect x="120" y="138" width="50" height="34" fill="#52606d"/>
<path d="M430 138v95" stroke="#1f2933" stroke-width="2"/>
<rect x="405" y="233" width="50" height="22" fill="#7b8794"/>
<rect x="40" y="470" width="720" height="28" fill="url(#stripes)" stroke="#1f2933"/>
<g fill="#ea580c">
  <path d="M585 560l22-62 22 62z"/><path d="M650 560l22-62 22 62z"/>
  <path d="M715 560l22-62 22 62z"/>
</g>
<g fill="#fff">
  <path d="M596 530h22l3 10h-28zM661 530h22l3 10h-28zM726 530h22l3 10h-28z"/>
</g>
<rect x="0" y="0" width="800" height="{{ 34 + 34 * lines|length }}" fill="#14365d" opacity="0.88"/>
{% for line in lines %}
<text x="400" y="{{ 46 + 34 * loop.index0 }}" text-anchor="middle" fill="#fff" font-size="28"
      font-weight="700" font-family="Noto Sans KR, Nanum Gothic, sans-serif">{{ line }}</text>
{% endfor %}
<rect x="0" y="548" width="800" height="52" fill="#fff4ce"/>
<rect x="0" y="548" width="800" height="3" fill="#b7791f"/>
<text x="400" y="582" text-anchor="middle" fill="#7c4a03" font-size="24" font-weight="700"
      font-family="Noto Sans KR, Nanum Gothic, sans-serif"
>합성 예시 사진 · Synthetic sample photo</text>
<text x="40" y="530" fill="#1f2933" font-size="15"
      font-family="DejaVu Sans Mono, monospace">{{ code }}</text>
</svg>
"""
)

PAGE = templates.from_string(
    """\
<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · 합성 예시 문서 · Synthetic sample document</title>
<style>
  body { margin: 0; background: #e5e8ec; color: #1f2933; line-height: 1.6;
         font-family: "Noto Sans KR", "Nanum Gothic", "Malgun Gothic", system-ui, sans-serif; }
  main { max-width: 720px; margin: 2rem auto; background: #fff; padding: 2rem 2.5rem;
         box-shadow: 0 1px 6px rgb(0 0 0 / 25%); border-top: 10px solid #14365d; }
  .banner { border: 2px solid #b7791f; background: #fff4ce; color: #7c4a03; padding: 0.75rem 1rem;
            font-weight: 700; }
  .banner span { display: block; font-weight: normal; }
  .kind { color: #52606d; margin: 1.5rem 0 0; }
  h1 { margin: 0.25rem 0 1rem; font-size: 1.6rem; line-height: 1.3; }
  dl { display: grid; grid-template-columns: 8rem 1fr; gap: 0.25rem 1rem; }
  dt { color: #52606d; }
  dd { margin: 0; font-weight: 600; }
  code { font-size: 0.95em; }
  .blank { margin-top: 1.5rem; border: 1px dashed #9aa5b1; padding: 1rem; color: #52606d; }
  a { color: #14365d; }
</style>
</head>
<body>
<main>
  <p class="banner" role="note">합성 예시 문서 · Synthetic sample document
    <span>실제 {{ kind[0] }}을(를) 대신하는 견본입니다.
      실제 사업의 문서가 아닙니다.</span>
    <span lang="en">A stand-in for the real {{ kind[1]|lower }}; not a document of any real
      project.</span></p>
  <p class="kind">{{ kind[0] }} · <span lang="en">{{ kind[1] }}</span></p>
  <h1>{{ title }}</h1>
  <dl>
    <dt>사업명 <span lang="en">Project</span></dt><dd>{{ project_title }}</dd>
    <dt>사업번호 <span lang="en">Code</span></dt><dd><code>{{ code }}</code></dd>
    {% if published_on %}
    <dt>공개일 <span lang="en">Published</span></dt><dd>{{ published_on }}</dd>
    {% endif %}
  </dl>
  <p class="blank">실제 사업이라면 이 자리에 원문이 실립니다.
    <span lang="en">For a real project, the document itself would be here.</span></p>
  <p><a href="/projects/{{ code }}/sheet">공사 정보공개서 · Disclosure sheet</a></p>
</main>
</body>
</html>
"""
)

SAMPLE_DOCUMENT = """
    SELECT doc.title, doc.published_on, p.code, p.title AS project_title
    FROM documents doc JOIN projects p ON p.id = doc.project_id
    WHERE p.code = %(code)s AND p.published AND p.is_sample
      AND doc.document_type = %(document_type)s AND doc.url = %(url)s
    ORDER BY doc.id LIMIT 1"""
COLUMNS = ("title", "published_on", "code", "project_title")


def render(document_type: str, row: dict[str, Any]) -> str:
    """The drawing or page standing in for one sample document."""
    if document_type == "illustration":
        lines = textwrap.wrap(row["project_title"], 24, max_lines=2, placeholder=" …")
        return PHOTO.render(title=row["project_title"], lines=lines, code=row["code"])
    kind = TYPES.get(document_type, (document_type, document_type))
    return PAGE.render(kind=kind, **row)


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
) -> Response:
    """A synthetic sample project's document: a drawing for its photo, else a labelled page."""
    url = f"/sample-documents/{code}/{document_type}"

    async def produce(db: Database) -> str:
        params = {"code": code, "document_type": document_type, "url": url}
        row = await db.first(Query(SAMPLE_DOCUMENT, params))
        if row is None:
            raise Problem(
                404, f"No sample project {code} has a {document_type} document.", param="code"
            )
        return render(document_type, dict(zip(COLUMNS, row, strict=True)))

    media_type = SVG if document_type == "illustration" else HTML
    response = await cached(request, media_type, produce)
    response.headers["Content-Security-Policy"] = CSP
    return response
