"""What the sample-data generator draws from: kinds of work, agencies, names and wording.

The kinds of work (how common, how costly, how long, how large) are the same in every city;
everything said in words is data, in ``data/demo``: ``<language>.json`` holds a generic
catalogue in one language (its agencies have generic names: "Department of Transport"), and
a city may have a catalogue of its own, named by the jurisdiction's ``demo_catalogue``
(``seoul.json``: Seoul's real public bodies). Every project, contractor, officer and phone
number made from a catalogue is invented, and stored with ``is_sample = true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo.boundaries import Area
from geo.errors import AllimiError
from geo.jurisdiction import Jurisdiction
from geo.settings import DATA_DIR
from geo.vocab import shipped_labels

# The documents a synthetic project comes with (OC4IDS document types)
SAMPLE_DOCUMENTS = ("projectPlan", "contractSummary", "completionCertificate", "illustration")

DEMO_DIR = DATA_DIR / "demo"
FALLBACK_LANGUAGE = "en"  # the generic catalogue's language where a city's has no file
OFFICE = "OFFICE"  # in category_agencies: the project's district office


@dataclass(frozen=True)
class Category:
    weight: float
    budget_usd: float  # median, in US dollars (converted to the city's currency)
    duration_days: float  # median
    size_m: tuple[float, float]  # segment length (lines) or side (polygons), min/max


CATEGORIES: dict[str, Category] = {
    "road": Category(0.20, 960_000, 150, (60, 320)),
    "water": Category(0.13, 640_000, 120, (60, 300)),
    "sewer": Category(0.12, 1_200_000, 200, (60, 300)),
    "gas": Category(0.06, 240_000, 60, (50, 250)),
    "power": Category(0.06, 720_000, 120, (60, 300)),
    "telecom": Category(0.05, 200_000, 45, (50, 250)),
    "rail": Category(0.02, 24_000_000, 900, (300, 900)),
    "transit": Category(0.05, 1_600_000, 240, (150, 500)),
    "building": Category(0.09, 9_600_000, 700, (30, 110)),
    "school": Category(0.04, 4_800_000, 400, (40, 120)),
    "park": Category(0.08, 2_000_000, 300, (60, 260)),
    "river": Category(0.04, 4_000_000, 500, (200, 700)),
    "housing": Category(0.04, 32_000_000, 1000, (70, 200)),
}

# Street works whose trenches a planner would want to coordinate (dig once).
TRENCH_CATEGORIES = ("road", "water", "sewer", "gas", "power", "telecom")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Work(_Strict):
    """One kind of work: its title pattern (``{place}`` is the neighbourhood), type and shape."""

    title: str
    project_type: str = Field(alias="type")
    shape: Literal["line", "point", "polygon"]
    scope: str  # description pattern; {size} is the length in m or area in m²


class Names(_Strict):
    """The agencies' names in one language; ``office`` names a district's office
    (``{district}`` is the district's name in that language)."""

    agencies: dict[str, str]
    office: str


class Texts(Names):
    """Everything a catalogue says, in one language. A name pattern (contractor, supervisor,
    person) is one of a list; each ``{field}`` in it is drawn from ``pools[field]``."""

    contractor: list[str] = Field(min_length=1)
    supervisor: list[str] = Field(min_length=1)
    person: list[str] = Field(min_length=1)
    pools: dict[str, list[str]]
    phone: str  # {number} is 0-9999
    works: dict[str, list[Work]]
    description: str  # {scope}: the work's scope
    address: str  # {place}: the neighbourhood, {district}: the district
    documents: dict[str, str]  # document type -> title; {title}: the project, {label}: the type
    delay_note: str

    @model_validator(mode="after")
    def _complete(self) -> Texts:
        missing = sorted(set(CATEGORIES) - set(self.works)) or sorted(
            set(SAMPLE_DOCUMENTS) - set(self.documents)
        )
        if missing:
            raise ValueError(f"{missing[0]} is missing")
        for code in TRENCH_CATEGORIES:
            if not any(w.shape == "line" for w in self.works[code]):
                raise ValueError(f"{code} needs a line work (trenches are laid side by side)")
        return self


class Structure(_Strict):
    """How a catalogue's agencies are coded and which category each works for; a city's own
    catalogue also holds its texts (``texts``) and its agencies' names in other languages."""

    agency_code: str  # {prefix}: the jurisdiction's code prefix, {key}: the agency's key
    office_code: str  # {prefix}, {district}: the district's code
    phones: dict[str, str]
    category_agencies: dict[str, list[str]]
    texts: dict[str, Texts] = Field(default_factory=dict)
    names: dict[str, Names] = Field(default_factory=dict)


@dataclass(frozen=True)
class Agency:
    code: str
    name: dict[str, str]
    phone: str | None


M = TypeVar("M", bound=BaseModel)


def _read(model: type[M], name: str) -> M:
    path = DEMO_DIR / f"{name}.json"
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AllimiError(f"The demo catalogue {path} cannot be read ({exc.strerror}).") from None


@cache
def _texts(language: str) -> Texts | None:
    """The generic catalogue in ``language``, if Allimi ships one."""
    return _read(Texts, language) if (DEMO_DIR / f"{language}.json").exists() else None


@dataclass(frozen=True)
class Catalogue:
    """A city's catalogue: the texts in its default language (or English), its agencies'
    names in each of its languages that have a catalogue, and the jurisdiction (code prefix,
    currency, time zone, the language of place names)."""

    structure: Structure
    texts: Texts
    language: str  # the texts' language
    names: dict[str, Names]  # language -> its agencies' names
    jurisdiction: Jurisdiction

    @property
    def prefix(self) -> str:
        return self.jurisdiction.code_prefix

    def local(self, names: dict[str, str]) -> str:
        """An area's name in the city's default language."""
        return self.jurisdiction.local(names)

    def category_agencies(self, category: str) -> tuple[str, ...]:
        """Agency codes that commission ``category`` (OFFICE for the district's office)."""
        keys = self.structure.category_agencies[category]
        return tuple(k if k == OFFICE else self._code(k) for k in keys)

    def office_code(self, district_code: str) -> str:
        return self.structure.office_code.format(prefix=self.prefix, district=district_code)

    def document_title(self, document_type: str, title: str) -> str:
        label = shipped_labels(self.language).get("document_type", {}).get(document_type)
        pattern = self.texts.documents[document_type]
        return pattern.format(title=title, label=label or document_type)

    def agencies(self, districts: list[Area]) -> list[Agency]:
        """The agencies the catalogue names, and each district's office."""
        phones = self.structure.phones
        keys = {k for ks in self.structure.category_agencies.values() for k in ks} - {OFFICE}
        own = [
            Agency(
                self._code(key),
                {lang: n.agencies[key] for lang, n in self.names.items()},
                phones.get(key),
            )
            for key in sorted(keys)
        ]
        offices = [
            Agency(
                self.office_code(d.code),
                {
                    lang: n.office.format(district=d.name.get(lang) or self.local(d.name))
                    for lang, n in self.names.items()
                },
                phones.get(OFFICE),
            )
            for d in districts
        ]
        return own + offices

    def _code(self, key: str) -> str:
        return self.structure.agency_code.format(prefix=self.prefix, key=key)


def catalogue_for(jurisdiction: Jurisdiction) -> Catalogue:
    """The catalogue the jurisdiction names, or the generic one in its default language
    (English when Allimi has none in that language)."""
    default = jurisdiction.language
    if jurisdiction.demo_catalogue:
        structure = _read(Structure, jurisdiction.demo_catalogue)
        texts = dict(structure.texts)
        language = default if default in texts else next(iter(texts))
    else:
        structure = _read(Structure, "generic")
        language = default if _texts(default) else FALLBACK_LANGUAGE
        found = {lang: _texts(lang) for lang in {*jurisdiction.languages, language}}
        texts = {lang: t for lang, t in found.items() if t is not None}
    named = {lang: texts.get(lang) or structure.names.get(lang) for lang in jurisdiction.languages}
    names = {lang: n for lang, n in named.items() if n is not None} or {language: texts[language]}
    return Catalogue(structure, texts[language], language, names, jurisdiction)
