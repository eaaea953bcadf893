"""The warning flags a disclosure shows, as SQL over a project row aliased ``p``.

Each is a plain rule a citizen can check from the numbers shown beside it.
"""

from __future__ import annotations

STALE_DAYS = 60  # no update for this long while works are under way
BEHIND_POINTS = 10  # physical progress this many points behind plan
AHEAD_POINTS = 15  # money paid this many points ahead of physical progress

ACTIVE = "p.status IN ('implementation', 'suspended')"

FLAGS: dict[str, str] = {
    "over_budget": "p.spent > p.budget",
    "behind_schedule": (
        f"({ACTIVE} AND (p.progress_actual + {BEHIND_POINTS} < p.progress_planned"
        " OR p.planned_end < current_date))"
    ),
    "spending_ahead": (
        f"({ACTIVE} AND coalesce(p.contract_value, p.budget) > 0 AND p.spent * 100.0"
        f" / coalesce(p.contract_value, p.budget) > p.progress_actual + {AHEAD_POINTS})"
    ),
    "stale": f"({ACTIVE} AND p.updated_at < now() - interval '{STALE_DAYS} days')",
}

FLAGS_JSON = "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in FLAGS.items()) + ")"
ANY_FLAG = "(" + " OR ".join(f"coalesce({v}, false)" for v in FLAGS.values()) + ")"
