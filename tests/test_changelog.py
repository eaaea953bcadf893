"""The public change log: a hash chain that any rewrite breaks, appended by concurrent writers
as one chain, and checked by ``allimi verify-log``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import InternalError

from geo.changelog import Broken, Change, appended, canonical, link, verify_stored
from geo.store import migrate
from geo.store.database import engine_for
from geo.transaction import run

ALLIMI = str(Path(sys.executable).with_name("allimi"))
WRITERS = 16


def _change(n: int) -> Change:
    return Change(
        action="edit",
        project=f"TEST-{n:04d}",
        agency="TEST-ROADS",
        role="official",
        fields={"budget": (Decimal("1000.00"), Decimal(1000 + n))},
        reason="설계 변경 / design change",
    )


@pytest.fixture
def log(scratch_db: str) -> Iterator[Engine]:
    """An empty portal's database, and three entries in its log."""
    migrate.upgrade(scratch_db)
    engine = engine_for(scratch_db)
    for n in range(1, 4):
        with engine.begin() as conn:
            assert run(conn, appended(_change(n))) == n
    yield engine
    engine.dispose()


def _as_owner_without_the_guard(engine: Engine, sql: str) -> None:
    """What only the database owner can do: switch the append-only guard off and rewrite."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE changes DISABLE TRIGGER changes_append_only"))
        conn.execute(text(sql))
        conn.execute(text("ALTER TABLE changes ENABLE TRIGGER changes_append_only"))


def verify_log(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [ALLIMI, "verify-log"], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_each_entry_covers_the_one_before(log: Engine) -> None:
    with log.connect() as conn:
        rows = conn.execute(text("SELECT seq, content, prev_hash, hash FROM changes ORDER BY seq"))
        entries = [tuple(r) for r in rows]
        assert verify_stored(conn) is None
    previous = bytes(32)
    for seq, content, prev_hash, digest in entries:
        assert bytes(prev_hash) == previous
        assert bytes(digest) == link(previous, content)
        assert json.loads(content)["seq"] == seq
        previous = bytes(digest)
    first = entries[0][1]
    assert '"fields":{"budget":["1000","1001"]}' in first
    assert '"reason":"설계 변경 / design change"' in first  # UTF-8, not escaped
    assert canonical({"b": 1, "a": [Decimal("2.50")]}) == '{"a":["2.50"],"b":1}'


def test_entries_cannot_be_changed_or_removed(log: Engine) -> None:
    for sql in ("UPDATE changes SET reason = 'x'", "DELETE FROM changes", "TRUNCATE changes"):
        with log.connect() as conn, pytest.raises(InternalError, match="append-only"):
            conn.execute(text(sql.replace("reason", "role")))


REWRITES = {
    "content": (
        "UPDATE changes SET content = replace(content, '1002', '9002') WHERE seq = 2",
        Broken(2, "its content does not match its hash"),
    ),
    "deletion": ("DELETE FROM changes WHERE seq = 2", Broken(2, "entry 2 is missing (next is 3)")),
    # entries 2 and 3 swapped: each keeps its own content and hash
    "order": (
        "UPDATE changes SET seq = -seq WHERE seq IN (2, 3); "
        "UPDATE changes SET seq = 5 + seq WHERE seq IN (-2, -3)",
        Broken(2, "it does not name the hash of the entry before it"),
    ),
    "the last entry": (
        "DELETE FROM changes WHERE seq = 3",
        Broken(2, "the log ends before or after its published head"),
    ),
}


@pytest.mark.parametrize("rewrite", list(REWRITES))
def test_any_rewrite_is_found_at_its_first_entry(log: Engine, rewrite: str) -> None:
    sql, broken = REWRITES[rewrite]
    _as_owner_without_the_guard(log, sql)
    with log.connect() as conn:
        assert verify_stored(conn) == broken


def test_allimi_verify_log_says_whether_the_chain_holds(log: Engine, scratch_db: str) -> None:
    held = verify_log(scratch_db)
    assert held.returncode == 0, held.stderr
    assert "The change log holds: 3 entries" in held.stderr
    _as_owner_without_the_guard(log, REWRITES["content"][0])
    broken = verify_log(scratch_db)
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        "allimi: The change log is broken at entry 2: its content does not match its hash."
    )


def test_concurrent_writers_make_one_chain(log: Engine) -> None:
    def write(n: int) -> int:
        with log.begin() as conn:
            return run(conn, appended(_change(100 + n)))

    with ThreadPoolExecutor(WRITERS) as pool:
        numbers = sorted(pool.map(write, range(WRITERS)))
    assert numbers == list(range(4, 4 + WRITERS))
    with log.connect() as conn:
        assert verify_stored(conn) is None


def test_a_write_that_fails_leaves_no_entry(log: Engine) -> None:
    with pytest.raises(ZeroDivisionError), log.begin() as conn:
        run(conn, appended(_change(9)))
        raise ZeroDivisionError  # the write the entry belongs to fails after it
    with log.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(seq) FROM changes")).one() == (3, 3)
        assert conn.execute(text("SELECT seq FROM change_head")).scalar_one() == 3
        assert verify_stored(conn) is None
