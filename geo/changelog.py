"""The public change log: every change to the public record, hash-chained.

Each entry's ``content`` is canonical JSON (keys sorted, no spaces, UTF-8) that names its own
sequence number, and its ``hash`` is SHA-256 over the previous entry's hash followed by that
content. So an edited entry, a reordered one or a missing one breaks the chain at that entry,
and anyone holding a copy of a chain head can later prove the log was not rewritten before it.

Writers append under a lock on the one ``change_head`` row, in the transaction of the write
itself: the change and its entry commit together or not at all, and concurrent writers still
make one chain. Only published projects are logged: a draft is not yet part of the public
record, and its publication logs every field it is published with (the baseline).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from geo.sql import Query
from geo.transaction import Later, Steps

GENESIS = bytes(32)  # the "previous hash" of the first entry
ACTIONS = ("create", "edit", "publish", "withdraw", "report", "import", "conflict", "moratorium")
# Entries about no one project: an import, and a protected zone drawn by hand
UNATTACHED = ("import", "moratorium")
# Money and dates: a change of one needs a reason, and the disclosure shows each one's baseline
# (as first published) beside its current value, with every revision and its reason
REVISED = ("budget", "contract_value", "planned_start", "planned_end")


def _plain(value: Any) -> Any:
    """A value JSON has no form for, as canonical JSON writes it: decimals and dates as text."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no place in the change log")


def canonical(content: Mapping[str, Any]) -> str:
    """``content`` as canonical JSON text (the bytes the hash covers are its UTF-8)."""
    return json.dumps(
        content, default=_plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def link(previous: bytes, content: str) -> bytes:
    """The hash of an entry: SHA-256 over the previous hash and the entry's content."""
    return hashlib.sha256(previous + content.encode("utf-8")).digest()


@dataclass(frozen=True)
class Change:
    """One change to the public record, as disclosed: no person's name, only agency and role."""

    action: str
    project: str | None  # project code; None for an import's own entry
    agency: str | None  # None for an import for several agencies
    role: str
    fields: Mapping[str, tuple[Any, Any]]  # field -> (before, after); before is None on create
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown change action {self.action!r}")


HEAD = Query("SELECT seq, hash, now() AS at FROM change_head FOR UPDATE")
COLUMNS = ("seq", "at", "project", "agency", "role", "action", "content", "prev", "hash")
INSERT = """
    INSERT INTO changes (seq, at, project_code, agency_code, role, action, content, prev_hash,
                         hash)
    VALUES (%(seq)s, %(at)s, %(project)s, %(agency)s, %(role)s, %(action)s, %(content)s,
            %(prev)s, %(hash)s);
"""
COPY = (
    "COPY changes (seq, at, project_code, agency_code, role, action, content, prev_hash, hash) "
    "FROM STDIN WITH (FORMAT csv)"
)
MOVE_HEAD = "UPDATE change_head SET seq = %(seq)s, hash = %(hash)s"


def _entry(seq: int, at: datetime, previous: bytes, change: Change) -> dict[str, Any]:
    """The stored row of ``change`` as entry ``seq`` after the entry hashed ``previous``."""
    content = canonical(
        {
            "seq": seq,
            "at": at,
            "action": change.action,
            "project": change.project,
            "agency": change.agency,
            "role": change.role,
            "fields": {k: list(v) for k, v in change.fields.items()},
            "reason": change.reason,
        }
    )
    return {
        "seq": seq,
        "at": at,
        "project": change.project,
        "agency": change.agency,
        "role": change.role,
        "action": change.action,
        "content": content,
        "prev": previous,
        "hash": link(previous, content),
    }


def appended(change: Change) -> Steps[int]:
    """Append ``change`` to the log in the write's transaction; returns its sequence number.
    The head stays locked until the transaction ends, and the entry goes with the commit."""
    head = (yield HEAD)[0]
    row = _entry(head["seq"] + 1, head["at"], bytes(head["hash"]), change)
    yield Later(Query(INSERT + MOVE_HEAD, row))
    return int(row["seq"])


def _csv_field(value: Any) -> Any:
    return "\\x" + value.hex() if isinstance(value, bytes) else value


def append_all(cursor: Any, changes: Iterable[Change], *, block: int = 5000) -> int:
    """Append many changes (an import's) with a psycopg2 ``cursor``, in its transaction: the
    head locked once, the entries sent by COPY ``block`` at a time; returns how many."""
    cursor.execute(HEAD.sql)
    seq, previous, at = cursor.fetchone()
    previous, count = bytes(previous), 0
    batch = io.StringIO()
    out = csv.writer(batch, lineterminator="\n")
    for change in changes:
        seq, count = seq + 1, count + 1
        row = _entry(seq, at, previous, change)
        previous = row["hash"]
        out.writerow(_csv_field(row[name]) for name in COLUMNS)
        if count % block == 0:
            _copy(cursor, batch)
    _copy(cursor, batch)
    if count:
        cursor.execute(MOVE_HEAD, {"seq": seq, "hash": previous})
    return count


def _copy(cursor: Any, batch: io.StringIO) -> None:
    if batch.tell():
        batch.seek(0)
        cursor.copy_expert(COPY, batch)
        batch.seek(0)
        batch.truncate()


@dataclass(frozen=True)
class Broken:
    """Where the chain breaks: the first entry that does not follow from the one before."""

    seq: int
    reason: str


def verify(
    entries: Iterable[tuple[int, str, bytes, bytes]], head: tuple[int, bytes]
) -> Broken | None:
    """Check ``entries`` (seq, content, prev_hash, hash, in seq order) against each other and
    against the published ``head`` (seq, hash); None when the chain holds."""
    expected_seq, previous = 1, GENESIS
    for seq, content, prev_hash, digest in entries:
        if seq != expected_seq:
            return Broken(expected_seq, f"entry {expected_seq} is missing (next is {seq})")
        if bytes(prev_hash) != previous:
            return Broken(seq, "it does not name the hash of the entry before it")
        if json.loads(content).get("seq") != seq:
            return Broken(seq, "its content names another place in the log")
        if link(previous, content) != bytes(digest):
            return Broken(seq, "its content does not match its hash")
        expected_seq, previous = seq + 1, bytes(digest)
    head_seq, head_hash = head
    if head_seq != expected_seq - 1 or bytes(head_hash) != previous:
        return Broken(expected_seq - 1, "the log ends before or after its published head")
    return None


def verify_stored(conn: Connection) -> Broken | None:
    """Check the stored log from its first entry to its head."""
    rows = conn.execute(text("SELECT seq, content, prev_hash, hash FROM changes ORDER BY seq"))
    head = conn.execute(text("SELECT seq, hash FROM change_head")).one()
    return verify(((r[0], r[1], r[2], r[3]) for r in rows), (head[0], head[1]))


def length(conn: Connection) -> int:
    """How many entries the log holds, by its head."""
    return int(conn.execute(text("SELECT seq FROM change_head")).scalar_one())


def listing(
    *,
    agency: str | None = None,
    district: str | None = None,
    project: str | None = None,
    since: date | None = None,
    before: int | None = None,
    limit: int = 100,
) -> Query:
    """The newest entries first, as a JSON document (text) with the chain head: each entry's
    content (the hashed text, as stored), previous hash and hash in hex, so that anyone can
    recompute the chain from what the API serves."""
    conditions = [Query("TRUE")]
    if agency:
        conditions.append(Query("c.agency_code = %(agency)s", {"agency": agency}))
    if project:
        conditions.append(Query("c.project_code = %(project)s", {"project": project}))
    if district:
        conditions.append(
            Query(
                "EXISTS (SELECT FROM projects p WHERE p.code = c.project_code "
                "AND p.district_code = %(district)s)",
                {"district": district},
            )
        )
    if since:
        conditions.append(Query("c.at >= %(since)s", {"since": since}))
    if before:
        conditions.append(Query("c.seq < %(before)s", {"before": before}))
    where = Query(" AND ").join(conditions)
    return Query.compose(
        """
        SELECT json_build_object(
            'head', (SELECT json_build_object('seq', seq, 'hash', encode(hash, 'hex'))
                     FROM change_head),
            'changes', coalesce((SELECT json_agg(e ORDER BY e.seq DESC) FROM (
                SELECT c.seq, c.at, c.action, c.project_code AS project,
                       c.agency_code AS agency, c.role, c.content,
                       encode(c.prev_hash, 'hex') AS prev_hash, encode(c.hash, 'hex') AS hash
                FROM changes c WHERE {where} ORDER BY c.seq DESC LIMIT %(limit)s) e), '[]')
        )::text
        """,
        {"limit": limit},
        where=where,
    )
