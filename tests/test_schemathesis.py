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

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks

from api.app import create_app
from geo.settings import Settings
from tests.conftest import nowhere

load_all_checks()
CHECKS = REGISTRY.get_all()  # every check Schemathesis has, positive data acceptance included
# The app's document, made with no database at all: the live server's is the same one.
DOCUMENT = create_app(Settings(), nowhere()).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_server_publishes_this_document(server) -> None:
    assert server.http.get("/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case, server) -> None:
    response = case.call_and_validate(base_url=server.base, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"] == ["application/problem+json"], response.text
