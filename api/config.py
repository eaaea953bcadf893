"""``/api/config``: what the web client needs to know before it draws anything."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.database import database
from geo.flags import AHEAD_POINTS, BEHIND_POINTS, STALE_DAYS
from geo.settings import Settings
from geo.sql import Query
from geo.vocab import CATEGORIES, PROJECT_TYPES, STATUSES, Term
from web import STATIC_DIR

router = APIRouter(tags=["config"])
SAMPLE = Query("SELECT EXISTS (SELECT 1 FROM projects WHERE published AND is_sample)")
AGENCIES = Query(
    "SELECT code, name_ko, name_en FROM agencies a WHERE EXISTS "
    "(SELECT 1 FROM projects p WHERE p.agency_code = a.code AND p.published) ORDER BY name_ko"
)


class Label(BaseModel):
    ko: str
    en: str
    oc4ids: str


class Basemap(BaseModel):
    url: str | None
    attribution: str


class Agency(BaseModel):
    code: str
    name_ko: str
    name_en: str


class Config(BaseModel):
    sample_data: bool
    languages: list[str]
    basemap: Basemap
    agencies: list[Agency]
    categories: dict[str, Label]
    statuses: dict[str, Label]
    project_types: dict[str, Label]
    thresholds: dict[str, int]


def _labels(terms: dict[str, Term]) -> dict[str, Label]:
    return {code: Label(ko=t.ko, en=t.en, oc4ids=t.oc4ids) for code, t in terms.items()}


@router.get("/api/config", response_model=Config)
async def config(request: Request) -> Config:
    """Labels, thresholds, agencies, the base map, and whether the data is a synthetic sample."""
    settings: Settings = request.app.state.settings
    db = database(request)
    sample = await db.scalar(SAMPLE)
    agencies = await db.rows(AGENCIES)
    return Config(
        sample_data=bool(sample),
        languages=sorted(path.stem for path in (STATIC_DIR / "i18n").glob("*.json")),
        agencies=[Agency(code=a[0], name_ko=a[1], name_en=a[2]) for a in agencies],
        basemap=Basemap(url=settings.basemap_url or None, attribution=settings.basemap_attribution),
        categories=_labels(CATEGORIES),
        statuses=_labels(STATUSES),
        project_types=_labels(PROJECT_TYPES),
        thresholds={
            "stale_days": STALE_DAYS,
            "behind_points": BEHIND_POINTS,
            "ahead_points": AHEAD_POINTS,
        },
    )
