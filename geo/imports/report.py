"""What an import found, and did: its counts, every rejected row, every changed one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    file: str
    sha256: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    unplaced: int = 0  # rows kept as drafts without a place (``unmapped_drafts``)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason
    changes: list[dict[str, Any]] = field(default_factory=list)  # row, code, fields
    applied: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "rows": self.rows,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "unplaced": self.unplaced,
            "rejected": [{"row": r, "field": f, "reason": why} for r, f, why in self.rejected],
            "changes": self.changes,
            "applied": self.applied,
        }


def summary(report: Report) -> str:
    """The report as a few lines for the command line."""
    lines = [
        f"{report.file}: {report.rows:,} rows: {report.new:,} new, {report.changed:,} changed, "
        f"{report.unchanged:,} unchanged, {len({r for r, _, _ in report.rejected}):,} rejected."
    ]
    if report.unplaced:
        lines.append(f"  {report.unplaced:,} without a place, kept as drafts to draw.")
    lines += [f"  row {row}: {name}: {reason}" for row, name, reason in report.rejected[:200]]
    lines += [
        f"  row {c['row']} ({c['code']}): {', '.join(c['fields'])}" for c in report.changes[:200]
    ]
    if report.rejected:
        lines.append("Nothing was imported: correct the rows above, then import again.")
    elif report.applied:
        lines.append(f"Imported in {report.seconds:.1f} s.")
    else:
        lines.append("A dry run: nothing was changed.")
    return "\n".join(lines)
