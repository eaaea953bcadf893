"""The conflicts layer: where works meet in space and time, open or coordinated, for everyone.

It shows no internal note and no dismissed conflict (the public reading login's view has
neither); a coordinated conflict stays on the map after its works were moved apart, as the
record of what coordination earned. A request's project filter applies to either work.
"""

from __future__ import annotations

from geo.filters import ProjectFilter
from geo.sql import Query
from layers.base import Attribute, Layer, LegendEntry, Style

# A tile reads only the columns of ``properties``; OGC API Features the rest too.
SOURCE = """
        SELECT c.id, c.at AS geom, c.kind, c.status, a.code AS a_code,
               coalesce(b.code, '') AS b_code, c.distance_m, c.overlap_days
        FROM conflicts c JOIN projects a ON a.id = c.a_id LEFT JOIN projects b ON b.id = c.b_id
        WHERE (c.holds OR c.status = 'coordinated') AND c.status <> 'dismissed'
          AND ({a} OR b.id IS NOT NULL AND {b})"""


def source(where: ProjectFilter) -> Query:
    return Query.compose(
        SOURCE,
        a=where.where("a", "a_", spatial=False),
        b=where.where("b", "b_", spatial=False),
    )


CONFLICTS = Layer(
    id="conflicts",
    title="layer.conflicts",
    geometry="point",
    source=source,
    within_city=True,
    properties={"kind": "String", "status": "String", "a_code": "String", "b_code": "String"},
    style=Style(
        property="kind",
        legend=(
            LegendEntry("clash", "conflict.clash", "#d7191c"),
            LegendEntry("dig_once", "conflict.dig_once", "#2b83ba"),
            LegendEntry("moratorium", "conflict.moratorium", "#7b3294"),
        ),
    ),
    minzoom=10,
    maxzoom=22,
    cluster_above=1500,
    description="Where two published works meet in space and time (clash, dig-once "
    "opportunity), or a work breaks a protected street's moratorium: open and coordinated "
    "ones, where they meet. They have no period of their own: every datetime selects them all.",
    attributes={
        "kind": Attribute(
            "string", "clash, dig_once or moratorium", values=("clash", "dig_once", "moratorium")
        ),
        "status": Attribute(
            "string", "Workflow step", values=("open", "acknowledged", "coordinated")
        ),
        "a_code": Attribute("string", "Code of the first work"),
        "b_code": Attribute("string", "Code of the second work (empty for a moratorium)"),
        "distance_m": Attribute("number", "Distance between the works, metres"),
        "overlap_days": Attribute("integer", "Days the periods share (negative: days apart)"),
    },
)
