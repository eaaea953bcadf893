"""The conflicts layer: where works meet in space and time, open or coordinated, for everyone.

It shows no internal note and no dismissed conflict (the public reading login's view has
neither); a coordinated conflict stays on the map after its works were moved apart or
withdrawn, as the record of what coordination earned (the code of a work no longer published
is left empty). A request's project filter keeps the conflicts of which a published work
matches it. Dense tiles and views draw the clusters migration 0021 keeps.
"""

from __future__ import annotations

from dataclasses import replace

from geo.filters import ProjectFilter
from geo.sql import Query
from layers.base import Attribute, Layer, LegendEntry, Style
from layers.prepared import Cells

# A tile reads only the columns of ``properties``; OGC API Features the rest too. Each work is
# looked up by its id, not joined: the planner cannot tell how many conflicts a tile's box
# holds, and would read every project to join a few.
SOURCE = """
        SELECT c.id, c.at AS geom, c.kind, c.status,
               coalesce((SELECT a.code FROM projects a WHERE a.id = c.a_id), '') AS a_code,
               coalesce((SELECT b.code FROM projects b WHERE b.id = c.b_id), '') AS b_code,
               c.distance_m, c.overlap_days
        FROM conflicts c
        WHERE (c.holds OR c.status = 'coordinated') AND c.status <> 'dismissed' AND {works}"""
EITHER = """(EXISTS (SELECT FROM projects a WHERE a.id = c.a_id AND {a})
             OR EXISTS (SELECT FROM projects b WHERE b.id = c.b_id AND {b}))"""


def source(where: ProjectFilter) -> Query:
    if replace(where, bbox=None) == ProjectFilter():
        return Query.compose(SOURCE, works="TRUE")
    return Query.compose(
        SOURCE,
        works=Query.compose(
            EITHER,
            a=where.where("a", "a_", spatial=False),
            b=where.where("b", "b_", spatial=False),
        ),
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
    cells=Cells("map_conflict_cells", "conflicts"),
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
