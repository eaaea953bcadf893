"""``/api/config``: what the web client needs to know before it draws anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.city import City, city
from api.database import database
from geo.disclosure import SHOWS_SAMPLE
from geo.flags import AHEAD_POINTS, BEHIND_POINTS, PHOTO_FAR_M, STALE_DAYS
from geo.jurisdiction import AGENCIES
from geo.settings import Settings

router = APIRouter(tags=["config"])
Translations = dict[str, str]


class Label(BaseModel):
    label: Translations
    oc4ids: str


class CategoryLabel(Label):
    color: str


class Basemap(BaseModel):
    url: str | None
    attribution: str


class Agency(BaseModel):
    code: str
    name: Translations


class Licence(BaseModel):
    name: Translations
    url: str  # its terms


class Jurisdiction(BaseModel):
    name: Translations
    languages: list[str]  # the first is the default
    currency: str
    timezone: str
    levels: list[Translations]  # what each administrative level is called, outermost first
    bounds: tuple[float, float, float, float] | None  # of its districts (EPSG:4326)
    attribution: str  # whom its boundaries come from
    licence: Licence  # of its published data


class Config(BaseModel):
    sample_data: bool
    jurisdiction: Jurisdiction
    languages: list[str]
    basemap: Basemap
    agencies: list[Agency]
    categories: dict[str, CategoryLabel]
    statuses: dict[str, Label]
    project_types: dict[str, Label]
    document_types: dict[str, Label]
    thresholds: dict[str, int]


@router.get("/api/config", response_model=Config)
async def config(request: Request, here: Annotated[City, Depends(city)]) -> Config:
    """The city (names, languages, currency, extent, the licence of its data), labels,
    thresholds, agencies, the base map, and whether the data is a synthetic sample."""
    settings: Settings = request.app.state.settings
    db = await database(request)
    sample = await db.scalar(SHOWS_SAMPLE)
    agencies = await db.rows(AGENCIES)
    j = here.jurisdiction

    def terms(vocabulary: str) -> dict[str, Label]:
        return {code: Label(**e) for code, e in here.terms.get(vocabulary, {}).items()}

    return Config(
        sample_data=bool(sample),
        jurisdiction=Jurisdiction(
            name=here.offered(j.name),
            languages=j.languages,
            currency=j.currency,
            timezone=j.timezone,
            levels=[here.offered(level) for level in j.levels],
            bounds=here.bounds,
            attribution=j.attribution,
            licence=Licence(name=here.offered(j.licence.name), url=j.licence.url),
        ),
        languages=j.languages,
        agencies=[Agency(code=a[0], name=here.offered(a[1])) for a in agencies],
        basemap=Basemap(url=settings.basemap_url or None, attribution=settings.basemap_attribution),
        categories={code: CategoryLabel(**e) for code, e in here.categories.items()},
        statuses=terms("status"),
        project_types=terms("project_type"),
        document_types=terms("document_type"),
        thresholds={
            "stale_days": STALE_DAYS,
            "behind_points": BEHIND_POINTS,
            "ahead_points": AHEAD_POINTS,
            "photo_far_m": PHOTO_FAR_M,
        },
    )
