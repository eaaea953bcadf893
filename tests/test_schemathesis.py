"""Schemathesis against the live portal: every operation of its OpenAPI document, with
generated requests (valid and invalid) sent over real HTTP.

No answer may be a server error; each must have a documented status, content type and
headers, a 4xx body must match the documented problem schema and be
``application/problem+json``, and a method an operation lacks must be refused with ``Allow``.
Most 200 bodies (GeoJSON, vector tiles, HTML) are documented by content type only, so for them
the content type is what is checked.

The cases come from the application's own OpenAPI document, checked to be the one the live
server publishes: ``schemathesis.pytest.from_fixture`` (which would load it from the server)
fails under pytest 9, whose nodes no longer have ``_nodeid``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from sqlalchemy import Engine

from api.app import create_app
from geo.accounts import NewUser, add_user, issue_token
from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests.conftest import Server, hand_made_city, nowhere, serve

load_all_checks()
CHECKS = REGISTRY.get_all()  # every check Schemathesis has, positive data acceptance included
# The app's document, made with no database at all: the live server's is the same one.
DOCUMENT = create_app(Settings(), nowhere()).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Too many or too large files, or no declared length, are refused as the bad input they are
# (413, 411), as documented; Schemathesis's own list of refusals leaves these two out.
schema.config.checks.negative_data_rejection.expected_statuses += ["411", "413"]


def _unsendable(value: object) -> bool:
    """An empty object (form style sends nothing for it), or an object or list inside a list (a
    comma-separated list has no room for one): the server would receive a valid request, or
    none of this value at all, while Schemathesis counts it as the invalid one it meant."""
    if isinstance(value, list):
        return any(isinstance(item, dict | list) for item in value)
    return value == {}


@schema.hook
def filter_query(context, query) -> bool:
    return not any(_unsendable(value) for value in (query or {}).values())


# Where a schema cannot say which valid-looking input the domain takes, every check but the
# acceptance of positive data applies: a written project (a geometry inside the city, a category
# of the city's, dates in order: tests/test_project_api.py shows the answers) and a CQL2 filter
# (naming the collection's queryables in the language given: tests/test_cql2.py).
BUT_ACCEPTANCE = [check for check in CHECKS if check.__name__ != "positive_data_acceptance"]


def test_the_live_server_publishes_this_document(server) -> None:
    assert server.http.get("/openapi.json").json() == DOCUMENT


FILTERED = "/ogc/collections/{collectionId}/items"


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case, server) -> None:
    checks = BUT_ACCEPTANCE if case.operation.path == FILTERED else CHECKS
    response = case.call_and_validate(base_url=server.base, checks=checks)
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"] == ["application/problem+json"], response.text


# ---- the write routes, signed in -----------------------------------------------------------
writes = schema.include(method=["POST", "PATCH", "DELETE"])


@pytest.fixture(scope="module")
def writable(settings: Settings) -> Iterator[tuple[Server, Engine, int]]:
    """The test city in a database of its own (generated writes change it), an admin's id."""
    name = "allimi_test_fuzz_writes"
    url = hand_made_city(settings, name)
    engine = engine_for(url)
    with engine.begin() as conn:
        admin = add_user(conn, NewUser("fuzz@allimi.test", "fuzz", "admin", "a long password!"))
    for running in serve(Settings(database_url=url, rate_per_s=10_000, rate_burst=10_000)):
        yield running, engine, admin
    engine.dispose()
    drop_database(url)


@writes.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_write_routes_signed_in(case, writable) -> None:
    running, engine, admin = writable
    with engine.begin() as conn:  # a token of its own: logout may revoke it
        token, _ = issue_token(conn, admin, "session", None, 600)
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    response = case.call_and_validate(base_url=running.base, checks=BUT_ACCEPTANCE)
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"] == ["application/problem+json"], response.text
