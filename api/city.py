"""The city the portal discloses, read once per data version: its jurisdiction, extent and
vocabularies (``geo.jurisdiction.CITY``). Every process reads the same rows, so they agree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api.database import database
from api.problems import Problem
from geo.jurisdiction import CITY, Jurisdiction, Translations


@dataclass(frozen=True)
class City:
    jurisdiction: Jurisdiction
    bounds: tuple[float, float, float, float] | None
    categories: dict[str, dict[str, Any]]  # code -> oc4ids, color, label
    terms: dict[str, dict[str, dict[str, Any]]]  # vocabulary -> code -> oc4ids, label

    def offered(self, values: Translations) -> Translations:
        """``values`` in the city's languages only, in their order."""
        return {lang: values[lang] for lang in self.jurisdiction.languages if lang in values}

    def label(self, vocabulary: str, code: str | None, lang: str) -> str:
        """A category's or term's label in ``lang`` (else the default language, else the code)."""
        terms = self.categories if vocabulary == "category" else self.terms.get(vocabulary, {})
        labels = (terms.get(code or "") or {}).get("label") or {}
        return str(labels.get(lang) or self.jurisdiction.local(labels) or code or "—")


def _city(document: str) -> City:
    data = json.loads(document)
    if data["jurisdiction"] is None:
        raise Problem(503, "No city is set up in this database yet; run 'allimi city init'.")
    jurisdiction = Jurisdiction.model_validate(data["jurisdiction"])
    langs = jurisdiction.languages

    def offered(entry: dict[str, Any]) -> dict[str, Any]:
        return {**entry, "label": {k: entry["label"][k] for k in langs if k in entry["label"]}}

    return City(
        jurisdiction=jurisdiction,
        bounds=tuple(data["bounds"]) if data["bounds"] else None,
        categories={code: offered(e) for code, e in data["categories"].items()},
        terms={
            vocabulary: {code: offered(e) for code, e in codes.items()}
            for vocabulary, codes in data["terms"].items()
        },
    )


class CityCache:
    """The City of the current data version."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._city: City | None = None

    async def get(self, request: Request) -> City:
        db = await database(request)
        version = await request.app.state.data_version.get(db)
        if self._city is None or version != self._version:
            self._city = _city(await db.scalar(CITY))
            self._version = version
        return self._city


async def city(request: Request) -> City:
    """The city (a dependency); 503 before one is set up."""
    cache: CityCache = request.app.state.city
    return await cache.get(request)
