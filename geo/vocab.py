"""Controlled vocabularies: categories, statuses and types, each tied to its OC4IDS code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    code: str
    ko: str
    en: str
    oc4ids: str  # the OC4IDS code this maps to (projectSector for categories)


CATEGORIES: dict[str, Term] = {
    t.code: t
    for t in (
        Term("road", "도로", "Road", "transport.road"),
        Term("water", "상수도", "Water supply", "waterAndWaste"),
        Term("sewer", "하수도", "Sewer", "waterAndWaste"),
        Term("gas", "가스", "Gas", "energy"),
        Term("power", "전력", "Power", "energy"),
        Term("telecom", "통신", "Telecom", "communications"),
        Term("rail", "철도", "Rail", "transport.rail"),
        Term("transit", "대중교통", "Transit", "transport.urban"),
        Term("building", "공공건축", "Public building", "governance"),
        Term("school", "학교", "School", "education"),
        Term("park", "공원·녹지", "Park", "cultureSportsAndRecreation"),
        Term("river", "하천·방재", "River & flood", "naturalResources.floodProtection"),
        Term("housing", "공공주택", "Public housing", "socialHousing"),
    )
}

# OC4IDS projectStatus, plus ``suspended`` (work stopped, may resume), which OC4IDS lacks.
STATUSES: dict[str, Term] = {
    t.code: t
    for t in (
        Term("identification", "계획", "Identification", "identification"),
        Term("preparation", "준비", "Preparation", "preparation"),
        Term("implementation", "공사중", "Under construction", "implementation"),
        Term("suspended", "중지", "Suspended", "implementation"),
        Term("completion", "준공", "Completed", "completion"),
        Term("maintenance", "유지관리", "Maintenance", "maintenance"),
        Term("cancelled", "취소", "Cancelled", "cancelled"),
    )
}

# OC4IDS projectType.
PROJECT_TYPES: dict[str, Term] = {
    t.code: t
    for t in (
        Term("construction", "신설", "Construction", "construction"),
        Term("rehabilitation", "정비", "Rehabilitation", "rehabilitation"),
        Term("replacement", "교체", "Replacement", "replacement"),
        Term("expansion", "확장", "Expansion", "expansion"),
        Term("decommissioning", "철거", "Decommissioning", "decommissioning"),
    )
}

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
