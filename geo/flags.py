"""The warning flags a disclosure shows, as SQL over a project row of any alias (``p`` unless
told otherwise), so that one statement can flag two rows of a pair.

Each is a plain rule a citizen can check from the numbers shown beside it.
"""

from __future__ import annotations

from geo.sql import identifier

STALE_DAYS = 60  # no update for this long while works are under way
BEHIND_POINTS = 10  # physical progress this many points behind plan
AHEAD_POINTS = 15  # money paid this many points ahead of physical progress
PHOTO_FAR_M = 200  # a report's photo taken farther than this from the works is flagged


def active(p: str = "p") -> str:
    """Whether the works of project row ``p`` are under way (or stopped midway)."""
    return f"{identifier(p)}.status IN ('implementation', 'suspended')"


def _spending_ahead(p: str) -> str:
    value = f"coalesce({p}.contract_value, {p}.budget)"
    return f"{value} > 0 AND {p}.spent * 100.0 / {value} > {p}.progress_actual + {AHEAD_POINTS}"


def flags(p: str = "p") -> dict[str, str]:
    """Each flag's name and its condition over project row ``p``."""
    under_way = active(p)
    return {
        "over_budget": f"{p}.spent > {p}.budget",
        "behind_schedule": (
            f"({under_way} AND ({p}.progress_actual + {BEHIND_POINTS} < {p}.progress_planned"
            f" OR {p}.planned_end < current_date))"
        ),
        "spending_ahead": f"({under_way} AND {_spending_ahead(p)})",
        "stale": f"({under_way} AND {p}.updated_at::date < current_date - {STALE_DAYS})",
    }


def flagged_on(p: str = "p") -> str:
    """The first day project row ``p`` raises a flag (``flags``, as a date): ``-infinity``
    when its numbers already raise one; while its works are under way, the day after their
    planned end or the day its last update turns stale, whichever comes first; else
    ``infinity``. Each published project's map row keeps it (migration 0017), so that a map
    tallies flags without evaluating every rule for every project on every request."""
    under_way = active(p)
    by_numbers = (
        f"{p}.spent > {p}.budget OR ({under_way} AND "
        f"({p}.progress_actual + {BEHIND_POINTS} < {p}.progress_planned OR {_spending_ahead(p)}))"
    )
    by_time = f"least({p}.planned_end + 1, {p}.updated_at::date + {STALE_DAYS + 1})"
    return (
        f"(CASE WHEN {by_numbers} THEN '-infinity'::date WHEN {under_way} THEN {by_time} "
        "ELSE 'infinity'::date END)"
    )


def flags_json(p: str = "p") -> str:
    """A JSON object of each flag of project row ``p``: true, false or null."""
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in flags(p).items()) + ")"


def any_flag(p: str = "p") -> str:
    """Whether project row ``p`` raises any flag."""
    return f"({flagged_on(p)} <= current_date)"


def period(p: str = "p") -> tuple[str, str]:
    """The first and last day of project row ``p``'s works, planned or actual."""
    return (
        f"least({p}.planned_start, coalesce({p}.actual_start, {p}.planned_start))",
        f"greatest({p}.planned_end, coalesce({p}.actual_end, {p}.planned_end))",
    )


def photo_flags(position: str, taken_at: str, p: str = "p") -> str:
    """A JSON object of why a photo taken at ``position`` (a 4326 point) on ``taken_at`` (a
    timestamp) may not show the works of project row ``p``: ``far_m``, its distance in metres
    when over PHOTO_FAR_M, and ``outside_on``, the day it was taken when outside the works'
    period; each null when the photo does not say or the rule holds."""
    begins, ends = period(p)
    distance = f"ST_Distance(({position})::geography, {p}.geom::geography)"
    return (
        f"json_build_object('far_m', CASE WHEN {distance} > {PHOTO_FAR_M} "
        f"THEN round({distance}::numeric) END, "
        f"'outside_on', CASE WHEN ({taken_at})::date NOT BETWEEN {begins} AND {ends} "
        f"THEN ({taken_at})::date END)"
    )
