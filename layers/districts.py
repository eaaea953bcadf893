"""The districts layer: boundaries with the totals of their projects, for shading."""

from __future__ import annotations

from geo.districts import totals_source
from layers.base import Attribute, Layer, LegendEntry, Style

MEASURES = {
    "projects": "measure.projects",
    "budget": "measure.budget",
    "flagged": "measure.flagged",
}


DISTRICTS = Layer(
    id="districts",
    title="level:1",
    geometry="polygon",
    source=totals_source,
    properties={
        "code": "String",
        "name": "String",
        "projects": "Number",
        "active": "Number",
        "budget": "Number",
        "spent": "Number",
        "flagged": "Number",
    },
    style=Style(
        property="projects",
        legend=(
            LegendEntry("low", "legend.fewer", "#eff3ff"),
            LegendEntry("high", "legend.more", "#08519c"),
        ),
        measures=MEASURES,
    ),
    translated=("name",),
    minzoom=0,
    maxzoom=22,
    description="The city's districts with the totals of their published projects. Districts "
    "have no period: every datetime selects them all.",
    attributes={
        "code": Attribute("string", "District code"),
        "name": Attribute("translations", "Name in each of the city's languages"),
        "projects": Attribute("integer", "Published projects"),
        "active": Attribute("integer", "Projects under way (or stopped midway)"),
        "budget": Attribute("number", "Budget of its projects"),
        "spent": Attribute("number", "Paid so far on its projects"),
        "flagged": Attribute("integer", "Projects raising a warning flag"),
    },
)
