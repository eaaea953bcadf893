"""The web client's messages, one JSON file per language, read by the server too (sheet,
layer titles), so that each text is translated once."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache

from web import STATIC_DIR

MESSAGES_DIR = STATIC_DIR / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def languages() -> list[str]:
    """The languages with messages: those a city may offer."""
    return sorted(path.stem for path in MESSAGES_DIR.glob("*.json"))


@cache
def messages(language: str) -> dict[str, str]:
    found: dict[str, str] = json.loads((MESSAGES_DIR / f"{language}.json").read_text("utf-8"))
    return found


def translations(key: str, langs: Iterable[str]) -> dict[str, str]:
    """``key``'s message in each of ``langs`` that has it."""
    return {lang: messages(lang)[key] for lang in langs if key in messages(lang)}


def locale_of(language: str) -> str:
    """The BCP 47 locale whose conventions a language's numbers and dates follow."""
    return messages(language).get("locale", language)


def message(language: str, key: str, **values: object) -> str:
    """``key``'s message in ``language`` with its ``{name}`` placeholders filled, as the web
    client's ``t`` fills them (a missing message is its key, a missing value empty)."""
    text = messages(language).get(key, key)
    return PLACEHOLDER.sub(lambda m: str(values.get(m[1], "")), text)
