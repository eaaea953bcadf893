"""``/api/config``: what the web client needs to know before it draws anything."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from geo.flags import AHEAD_POINTS, BEHIND_POINTS, STALE_DAYS
from geo.settings import Settings
from geo.vocab import CATEGORIES, PROJECT_TYPES, STATUSES, Term

router = APIRouter(tags=["config"])


class Label(BaseModel):
    ko: str
    en: str
    oc4ids: str


class Basemap(BaseModel):
    url: str | None
    attribution: str


class Config(BaseModel):
    basemap: Basemap
    categories: dict[str, Label]
    statuses: dict[str, Label]
    project_types: dict[str, Label]
    thresholds: dict[str, int]


def _labels(terms: dict[str, Term]) -> dict[str, Label]:
    return {code: Label(ko=t.ko, en=t.en, oc4ids=t.oc4ids) for code, t in terms.items()}


@router.get("/api/config", response_model=Config)
def config(request: Request) -> Config:
    settings: Settings = request.app.state.settings
    return Config(
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
