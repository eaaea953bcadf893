"""Statements composed from parts: filters over any alias, clashing parameters refused, and
declared names checked before they are written into SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from geo.disclosure import sorts
from geo.filters import ProjectFilter
from geo.sql import Query, identifier
from layers.base import Layer, Style
from layers.projects import source
from tests.city import LIBRARY, PARK, ROAD, STALE, VALVE

PAIRS = """
    SELECT a.code, b.code FROM projects a, projects b
    WHERE a.id <> b.id AND {a} AND {b} ORDER BY a.code, b.code"""


def pairs(engine: Engine, a: ProjectFilter, b: ProjectFilter) -> set[tuple[str, str]]:
    query = Query.compose(PAIRS, a=a.where("a", "a_"), b=b.where("b", "b_"))
    with engine.connect() as conn:
        return {(x, y) for x, y in conn.exec_driver_sql(query.sql, query.params)}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Flagged projects of each agency: ROAD is behind schedule (its other published
        # project, LIBRARY, is not flagged); VALVE is over budget, STALE is stale, PARK neither.
        (
            ProjectFilter(agency="TEST-ROADS", flagged=True),
            ProjectFilter(agency="TEST-WATER", flagged=True),
            {(ROAD.code, VALVE.code), (ROAD.code, STALE.code)},
        ),
        # Unflagged road-office projects against water-office projects near the street
        (
            ProjectFilter(agency="TEST-ROADS", flagged=False),
            ProjectFilter(agency="TEST-WATER", bbox=(126.99, 37.49, 127.01, 37.51)),
            {(LIBRARY.code, VALVE.code)},
        ),
        # Two boxes and two category lists: the unpublished HIDDEN road never appears
        (
            ProjectFilter(categories=("road", "building"), bbox=(126.99, 37.49, 127.05, 37.55)),
            ProjectFilter(categories=("park", "water"), statuses=("preparation",)),
            {(ROAD.code, PARK.code), (LIBRARY.code, PARK.code)},
        ),
    ],
)
def test_two_filters_over_two_aliases_select_the_right_pairs(
    engine: Engine, a: ProjectFilter, b: ProjectFilter, expected: set[tuple[str, str]]
) -> None:
    assert pairs(engine, a, b) == expected


def test_two_filters_with_one_prefix_clash_on_the_parameter_they_share() -> None:
    a = ProjectFilter(agency="TEST-ROADS").where("a")
    b = ProjectFilter(agency="TEST-WATER").where("b")
    with pytest.raises(ValueError, match="parameter 'agency' has two values"):
        Query.compose(PAIRS, a=a, b=b)


def test_composing_one_name_with_two_values_is_refused() -> None:
    one, two = Query("x = %(n)s", {"n": 1}), Query("y = %(n)s", {"n": 2})
    with pytest.raises(ValueError, match="parameter 'n' has two values: 1 and 2"):
        Query.compose("{one} AND {two}", one=one, two=two)
    with pytest.raises(ValueError, match="parameter 'n'"):
        one + two
    with pytest.raises(ValueError, match="parameter 'n'"):
        Query(" AND ").join([one, two])
    with pytest.raises(ValueError, match="parameter 'n'"):
        Query.compose("{one} LIMIT %(n)s", {"n": 5}, one=one)


def test_composing_one_name_with_one_value_merges_it() -> None:
    one, again = Query("x = %(n)s", {"n": 1}), Query("y = %(n)s", {"n": 1})
    composed = Query.compose("{one} AND {again} LIMIT %(k)s", {"k": 3}, one=one, again=again)
    assert composed == Query("x = %(n)s AND y = %(n)s LIMIT %(k)s", {"n": 1, "k": 3})
    assert one + Query(" OR z") == Query("x = %(n)s OR z", {"n": 1})


def declare_layer(properties: dict[str, str], styled_by: str) -> Layer:
    return Layer(
        id="declared",
        title="layer.projects",
        geometry="mixed",
        source=source,
        properties=properties,
        style=Style(property=styled_by),
        minzoom=0,
        maxzoom=22,
    )


def test_a_layer_of_plain_names_is_declared() -> None:
    assert declare_layer({"code": "String", "status": "String"}, "status").id == "declared"


@pytest.mark.parametrize(
    "name", ["code; DROP TABLE projects", "p.code", "Code", '"code"', "1code", "", "code "]
)
def test_a_name_that_is_not_a_plain_identifier_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not a plain SQL identifier"):
        identifier(name)
    with pytest.raises(ValueError, match="is not a plain SQL identifier"):
        declare_layer({"code": "String", name: "String"}, styled_by="code")
    with pytest.raises(ValueError, match="is not a plain SQL identifier"):
        sorts(code=(name, "text"))
    with pytest.raises(ValueError, match="is not a plain SQL identifier"):
        ProjectFilter().where(name)


def test_a_layer_styled_by_an_undeclared_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'status or true' is not a plain SQL identifier"):
        declare_layer({"code": "String"}, styled_by="status or true")


def test_a_sort_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="'text; --' is not a sort type"):
        sorts(code=("code", "text; --"))


def test_a_prefix_that_makes_no_plain_names_is_refused() -> None:
    with pytest.raises(ValueError, match="'a-' is not a plain SQL identifier"):
        ProjectFilter(agency="X").where("a", "a-")
