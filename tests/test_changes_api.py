"""The public change log over HTTP: what anyone reads is enough to recompute the chain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from geo.changelog import Change, appended, link
from geo.transaction import run
from tests.city import LIBRARY, ROAD


@pytest.fixture(scope="module")
def logged(engine: Engine) -> list[int]:
    """Two edits of the road and one of the library, appended as writes would."""
    seqs = []
    for code, agency, reason in (
        (ROAD.code, ROAD.agency, "설계 변경"),
        (LIBRARY.code, LIBRARY.agency, "자재비 상승"),
        (ROAD.code, ROAD.agency, "공기 연장"),
    ):
        with engine.begin() as conn:
            seqs.append(
                run(conn, appended(Change("edit", code, agency, "official",
                           {"budget": (Decimal("100"), Decimal("120"))}, reason),
                ))
            )  # fmt: skip
    return seqs


def test_anyone_can_recompute_the_chain_from_the_api(server, logged: list[int]) -> None:
    body = server.http.get("/api/changes", params={"limit": 500}).json()
    entries = sorted(body["changes"], key=lambda e: e["seq"])
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    previous = bytes(32)
    for entry in entries:
        assert bytes.fromhex(entry["prev_hash"]) == previous
        previous = link(previous, entry["content"])
        assert previous.hex() == entry["hash"]
    assert body["head"] == {"seq": entries[-1]["seq"], "hash": entries[-1]["hash"]}


def test_changes_are_filtered_and_paged(server, logged: list[int]) -> None:
    road = server.http.get(f"/api/projects/{ROAD.code}/changes").json()["changes"]
    assert [e["seq"] for e in road if e["seq"] in logged] == [logged[2], logged[0]]
    assert {e["project"] for e in road} == {ROAD.code}
    by_agency = server.http.get("/api/changes", params={"agency": LIBRARY.agency}).json()
    assert {e["project"] for e in by_agency["changes"]} >= {LIBRARY.code}
    older = server.http.get("/api/changes", params={"before": logged[2], "limit": 1}).json()
    assert [e["seq"] for e in older["changes"]] == [logged[1]]
    later = server.http.get("/api/changes", params={"since": "2999-01-01"}).json()
    assert later["changes"] == []
