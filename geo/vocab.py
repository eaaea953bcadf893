"""Controlled vocabularies: categories, statuses and types, each tied to its OC4IDS code.

The codes are Allimi's; their labels are data: ``data/vocabulary/<language>.json`` holds the
built-in terms' labels in one language, and a city's own categories bring theirs (config file
of ``allimi city init``). Both are stored in ``categories`` and ``terms`` as JSONB of
language → text, so that a language is added with files, not code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, text

from geo.errors import AllimiError
from geo.settings import DATA_DIR

VOCABULARY_DIR = DATA_DIR / "vocabulary"
CATEGORY_CODE = r"^[a-z][a-z0-9_]{0,19}$"


@dataclass(frozen=True)
class Category:
    code: str
    oc4ids: str  # OC4IDS projectSector
    color: str  # map colour, #rrggbb


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("road", "transport.road", "#e6550d"),
        Category("water", "waterAndWaste", "#4292c6"),
        Category("sewer", "waterAndWaste", "#756bb1"),
        Category("gas", "energy", "#c49a00"),
        Category("power", "energy", "#de2d26"),
        Category("telecom", "communications", "#17a2b8"),
        Category("rail", "transport.rail", "#525252"),
        Category("transit", "transport.urban", "#1b9e77"),
        Category("building", "governance", "#8c510a"),
        Category("school", "education", "#e7298a"),
        Category("park", "cultureSportsAndRecreation", "#31a354"),
        Category("river", "naturalResources.floodProtection", "#08519c"),
        Category("housing", "socialHousing", "#a6761d"),
    )
}

# Code -> OC4IDS code. Statuses are OC4IDS projectStatus plus ``suspended`` (work stopped, may
# resume), which OC4IDS lacks; the flags and the map's symbols depend on them, so a city cannot
# add statuses or types, only label them.
STATUSES: dict[str, str] = {
    "identification": "identification",
    "preparation": "preparation",
    "implementation": "implementation",
    "suspended": "implementation",
    "completion": "completion",
    "maintenance": "maintenance",
    "cancelled": "cancelled",
}
PROJECT_TYPES: dict[str, str] = {
    code: code
    for code in ("construction", "rehabilitation", "replacement", "expansion", "decommissioning")
}
DOCUMENT_TYPES: dict[str, str] = {
    code: code
    for code in (
        "projectPlan",
        "contractSummary",
        "completionCertificate",
        "illustration",
        "physicalProgressReport",
    )
}
TERMS = {"status": STATUSES, "project_type": PROJECT_TYPES, "document_type": DOCUMENT_TYPES}

GEOMETRY_TYPES = (
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
)


def sql_list(codes: Iterable[str]) -> str:
    """Constant codes as a SQL list (``'a', 'b'``), for CHECK constraints."""
    return ", ".join(f"'{c}'" for c in codes)


@cache
def shipped_labels(language: str) -> dict[str, dict[str, str]]:
    """The built-in terms' labels in ``language`` ({vocabulary: {code: label}}); empty when
    Allimi ships none for it (the codes are shown until a city adds its own)."""
    path = VOCABULARY_DIR / f"{language}.json"
    if not path.exists():
        return {}
    labels: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return labels


def _labels(vocabulary: str, code: str, languages: Iterable[str]) -> dict[str, str]:
    found = {lang: shipped_labels(lang).get(vocabulary, {}).get(code) for lang in languages}
    return {lang: label for lang, label in found.items() if label}


@dataclass(frozen=True)
class OwnCategory:
    """A category a city adds (config file): its code, OC4IDS sector, colour and labels."""

    code: str
    oc4ids: str
    color: str
    label: Mapping[str, str]


def store_vocabulary(
    conn: Connection, languages: list[str], own: Iterable[OwnCategory] = ()
) -> None:
    """Replace the stored terms with the built-in ones labelled in ``languages``, and the
    city's own categories."""
    own = list(own)
    clash = sorted(c.code for c in own if c.code in CATEGORIES)
    if clash:
        raise AllimiError(
            f"Categories {', '.join(clash)} are built in; give the city's own another code."
        )
    categories: list[dict[str, Any]] = [
        {
            "code": c.code,
            "oc4ids": c.oc4ids,
            "color": c.color,
            "label": json.dumps(_labels("category", c.code, languages)),
        }
        for c in CATEGORIES.values()
    ] + [
        {"code": c.code, "oc4ids": c.oc4ids, "color": c.color, "label": json.dumps(dict(c.label))}
        for c in own
    ]
    for position, row in enumerate(categories):
        row["position"] = position
    conn.execute(text("DELETE FROM terms"))
    conn.execute(
        text(
            """
            INSERT INTO categories (code, oc4ids, color, label, position)
            VALUES (:code, :oc4ids, :color, CAST(:label AS jsonb), :position)
            ON CONFLICT (code) DO UPDATE SET oc4ids = excluded.oc4ids, color = excluded.color,
                label = excluded.label, position = excluded.position
            """
        ),
        categories,
    )
    conn.execute(
        text("DELETE FROM categories WHERE code <> ALL(:codes)"),
        {"codes": [row["code"] for row in categories]},
    )
    conn.execute(
        text(
            """
            INSERT INTO terms (vocabulary, code, oc4ids, label, position)
            VALUES (:vocabulary, :code, :oc4ids, CAST(:label AS jsonb), :position)
            """
        ),
        [
            {
                "vocabulary": vocabulary,
                "code": code,
                "oc4ids": oc4ids,
                "label": json.dumps(_labels(vocabulary, code, languages)),
                "position": position,
            }
            for vocabulary, codes in TERMS.items()
            for position, (code, oc4ids) in enumerate(codes.items())
        ],
    )
