"""The public bodies that carry out projects, as admins keep them: a code (how projects and
officials' accounts name the agency), its name in the city's languages, and a phone number.

An agency is never removed: projects and the public change log name it for good.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.accounts import Refused, control_problems
from geo.jurisdiction import Translations, stored_jurisdiction

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{2,29}$")
MAX_NAME = 200
CHANGEABLE = ("name", "phone")


@dataclass(frozen=True)
class Agency:
    code: str
    name: Translations
    phone: str | None
    officials: int  # active accounts of its officials


AGENCIES = """
    SELECT a.code, a.name, a.phone,
           (SELECT count(*) FROM users u WHERE u.agency_code = a.code AND u.active)
    FROM agencies a
"""


def agencies_list(conn: Connection) -> list[Agency]:
    return [Agency(*row) for row in conn.execute(text(f"{AGENCIES} ORDER BY a.code"))]


def _one(conn: Connection, code: str) -> Agency:
    return Agency(*conn.execute(text(f"{AGENCIES} WHERE a.code = :c"), {"c": code}).one())


def _languages(conn: Connection) -> list[str]:
    city = stored_jurisdiction(conn)
    if city is None:
        raise Refused(409, [("name", "no city is set up yet; run 'allimi city init'")])
    return city.languages


def _name_problems(name: object, languages: list[str]) -> list[tuple[str, str]]:
    """An agency's name: a text in the city's default language, others in its languages."""
    if not isinstance(name, dict):
        return [("name", "the name is an object of language -> text")]
    found = []
    for lang, value in name.items():
        if lang not in languages:
            found.append(
                (f"name.{lang}", f"not one of the city's languages: {', '.join(languages)}")
            )
        elif control_problems({lang: value}):
            found.append((f"name.{lang}", "it holds a control character"))
        elif not isinstance(value, str) or not value.strip():
            found.append((f"name.{lang}", "the name is empty; leave the language out instead"))
        elif len(value) > MAX_NAME:
            found.append((f"name.{lang}", f"a name has at most {MAX_NAME} characters"))
    if languages[0] not in name:
        found.append((f"name.{languages[0]}", "the name in the city's default language is needed"))
    return found


def _phone(value: object) -> tuple[str | None, list[tuple[str, str]]]:
    """The phone number to store (None for none) and what is wrong with it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    if not isinstance(value, str) or not PHONE.match(value.strip()):
        return None, [("phone", "digits, spaces, ( ) - . and a leading +, 3 to 30 of them")]
    return value.strip(), []


def _stored_name(name: Mapping[str, str]) -> str:
    return json.dumps({lang: text.strip() for lang, text in name.items()}, ensure_ascii=False)


def create_agency(
    conn: Connection, code: str, name: Mapping[str, str], phone: str | None = None
) -> Agency:
    """A new agency; Refused naming every problem, 409 when the code is taken."""
    problems = [] if re.match(CODE, code) else [("code", "1-40 letters, digits, _ . -")]
    problems += _name_problems(name, _languages(conn))
    stored_phone, wrong_phone = _phone(phone)
    if problems + wrong_phone:
        raise Refused(422, problems + wrong_phone)
    made = conn.execute(
        text(
            "INSERT INTO agencies (code, name, phone) VALUES (:c, CAST(:n AS jsonb), :p) "
            "ON CONFLICT (code) DO NOTHING RETURNING code"
        ),
        {"c": code, "n": _stored_name(name), "p": stored_phone},
    ).first()
    if made is None:
        raise Refused(409, [("code", f"there is an agency {code!r} already")])
    return _one(conn, code)


def update_agency(conn: Connection, code: str, changes: Mapping[str, object]) -> Agency:
    """Change an agency's name (all its languages at once) or phone; Refused naming every
    problem, 404 when there is no such agency."""
    if not conn.execute(
        text("SELECT EXISTS (SELECT FROM agencies WHERE code = :c)"), {"c": code}
    ).scalar_one():
        raise Refused(404, [("code", f"there is no agency {code!r}")])
    problems = [(f, "it is not a field of an agency") for f in changes if f not in CHANGEABLE]
    if "name" in changes:
        problems += _name_problems(changes["name"], _languages(conn))
    stored_phone, wrong_phone = _phone(changes.get("phone"))
    if problems + wrong_phone:
        raise Refused(422, problems + wrong_phone)
    name = changes.get("name")
    conn.execute(
        text(
            """
            UPDATE agencies SET name = coalesce(CAST(:n AS jsonb), name),
                phone = CASE WHEN :phone_given THEN :p ELSE phone END
            WHERE code = :c
            """
        ),
        {
            "c": code,
            "n": _stored_name(name) if isinstance(name, Mapping) else None,
            "phone_given": "phone" in changes,
            "p": stored_phone,
        },
    )
    return _one(conn, code)
