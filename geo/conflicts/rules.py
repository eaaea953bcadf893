"""The numbers of the conflict rules: settings (``ALLIMI_CONFLICT_*``) with the defaults a city
starts from, overridable per request within sane bounds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.sql import Query


class ConflictSettings(BaseSettings):
    """The rules the full scan applies and the API answers with when a request names none."""

    model_config = SettingsConfigDict(env_prefix="ALLIMI_CONFLICT_", extra="ignore")

    buffer_m: float = Field(
        default=20.0, ge=0, le=500, description="How close two works are to meet (metres)."
    )
    gap_days: int = Field(
        default=180,
        ge=0,
        le=3650,
        description="Works at one place fewer days apart than this could share one excavation.",
    )
    moratorium_months: int = Field(
        default=36, ge=0, le=240, description="How long a completed road work is protected."
    )
    excavating: str = Field(
        default="water,sewer,power,telecom,gas",
        description="Comma-separated categories whose works dig up the street.",
    )
    protected: str = Field(
        default="road", description="Comma-separated categories whose completed works protect."
    )


def _codes(text: str) -> tuple[str, ...]:
    return tuple(sorted({c.strip() for c in text.split(",") if c.strip()}))


@dataclass(frozen=True)
class Rules:
    buffer_m: float = 20.0
    gap_days: int = 180
    moratorium_months: int = 36
    excavating: tuple[str, ...] = ("gas", "power", "sewer", "telecom", "water")
    protected: tuple[str, ...] = ("road",)

    @classmethod
    def of(cls, settings: ConflictSettings) -> Rules:
        return cls(
            float(settings.buffer_m),
            settings.gap_days,
            settings.moratorium_months,
            _codes(settings.excavating),
            _codes(settings.protected),
        )

    @classmethod
    def stored(cls, row: Mapping[str, Any]) -> Rules:
        """The rules of a ``conflict_rules`` row."""
        return cls(
            float(row["buffer_m"]),
            int(row["gap_days"]),
            int(row["moratorium_months"]),
            tuple(sorted(row["excavating"])),
            tuple(sorted(row["protected"])),
        )

    def overridden(
        self,
        buffer_m: float | None = None,
        gap_days: int | None = None,
        moratorium_months: int | None = None,
    ) -> Rules:
        """These rules with the numbers a request gives (None: not given)."""
        return replace(
            self,
            buffer_m=self.buffer_m if buffer_m is None else buffer_m,
            gap_days=self.gap_days if gap_days is None else gap_days,
            moratorium_months=(
                self.moratorium_months if moratorium_months is None else moratorium_months
            ),
        )

    def values(self) -> Query:
        """A one-row SQL relation of these rules (aliased by the caller)."""
        return Query(
            "SELECT %(r_buffer_m)s::float8 AS buffer_m, %(r_gap_days)s::int AS gap_days, "
            "%(r_months)s::int AS moratorium_months, %(r_excavating)s::text[] AS excavating, "
            "%(r_protected)s::text[] AS protected",
            {
                "r_buffer_m": self.buffer_m,
                "r_gap_days": self.gap_days,
                "r_months": self.moratorium_months,
                "r_excavating": list(self.excavating),
                "r_protected": list(self.protected),
            },
        )


# The rules the stored conflicts follow, as a relation like ``Rules.values``
STORED = Query(
    "SELECT buffer_m::float8 AS buffer_m, gap_days, moratorium_months, excavating, protected "
    "FROM conflict_rules"
)
READ_STORED = Query(
    "SELECT buffer_m, gap_days, moratorium_months, excavating, protected, scanned_at "
    "FROM conflict_rules"
)
