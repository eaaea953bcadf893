"""Allimi's vocabularies as OC4IDS codes, and the standard's codelists (0.9.5,
``data/oc4ids/codelists``), against which whatever the export writes in a coded field is
checked: a code not in its list is left out (a city's own sector, a document type of no list)."""

from __future__ import annotations

import csv
from functools import cache
from typing import Any

from geo.settings import DATA_DIR
from geo.vocab import PROJECT_TYPES, STATUSES

CODELISTS = DATA_DIR / "oc4ids" / "codelists"

PROJECT_STATUS = STATUSES  # projectStatus; suspended works are in implementation
PROJECT_TYPE = PROJECT_TYPES  # projectType: the same codes
# contractingProcessStatus of the project's contracts, by the project's status
CONTRACT_STATUS = {
    "identification": "pre-award",
    "preparation": "pre-award",
    "implementation": "active",
    "suspended": "active",
    "completion": "closed",
    "maintenance": "closed",
    "cancelled": "closed",
}
CONSTRUCTION, SUPERVISION = "construction", "supervision"  # contractNature
PHYSICAL, FINANCIAL = "physicalProgress", "financialProgress"  # metricID
VALUE, DURATION = "value", "duration"  # modificationType
AUTHORITY = ("publicAuthority", "buyer")  # partyRole: the agency
PAYER, SUPPLIER = "payer", "supplier"
PERCENT: dict[str, Any] = {"name": "percent", "scheme": "UNCEFACT", "id": "P1"}
CURRENT = "current"  # the id of an observation of a project's figure as it is now


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of codelist ``name`` (``projectSector``, ...)."""
    with (CODELISTS / f"{name}.csv").open(encoding="utf-8", newline="") as file:
        return frozenset(row["Code"] for row in csv.DictReader(file))
