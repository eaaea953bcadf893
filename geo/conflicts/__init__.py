"""The planners' conflict engine: works that overlap in space and time, found by PostGIS.

Three rules (``rules.Rules`` holds their numbers):

- a **clash**: two works whose geometries come within the buffer (true metres) and whose active
  periods (planned dates, actual ones where known) share at least one day;
- a **dig-once** opportunity: the same, but with a gap of fewer than ``gap_days`` between the
  periods (abutting periods have a gap of 0 days): one excavation could serve both;
- a **moratorium** violation: an excavating work within the buffer of a protected zone during
  its period. Completing a road work protects it for ``moratorium_months`` from the day after
  it ended; planners draw further zones by hand (``moratoria``).

``find`` writes the statements that find them (the spatial index does the pairing: no loop over
pairs anywhere); ``store`` keeps the ``conflicts`` table current (a full scan, and a re-check of
the works each write touched, in the write's transaction); ``workflow`` takes a conflict from
open to coordinated or dismissed; ``export`` writes them as CSV and as a district's report.
"""

KINDS = ("clash", "dig_once", "moratorium")
STATUSES = ("open", "acknowledged", "coordinated", "dismissed")
# The workflow: each status and the ones it may move to. A dismissal can be taken back; a
# coordination is final (its savings are the city's record).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged",),
    "acknowledged": ("coordinated", "dismissed"),
    "dismissed": ("open",),
    "coordinated": (),
}
# A project's fields the rules read: a write that changes none of them leaves its conflicts be
FIELDS = ("geometry", "category", "status", "planned_start", "planned_end", "actual_start",
          "actual_end", "published")  # fmt: skip
# Who works on conflicts: planners, and the officials of the agencies of the works involved
ACTORS = ("planner", "official")
# Who reads the planners' list (with internal notes)
READERS = ("planner", "official", "admin")
