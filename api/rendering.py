"""Pages the server renders itself (the printable sheet, the sample documents): one Jinja
environment over web/templates, autoescaped, with every text taken from the message files the
web client reads (web/static/i18n), so that a page speaks whichever language a city offers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from jinja2 import Environment, FileSystemLoader

from api.city import City, city
from api.problems import Problem
from geo.formatting import Formatter
from web import TEMPLATES_DIR
from web.messages import languages, locale_of, message

templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def texts(lang: str) -> Callable[..., str]:
    """``t(key, **slots)``: the message ``key`` in ``lang``, its ``{slot}``s filled."""
    return partial(message, lang)


def in_each(langs: Iterable[str], key: str) -> str:
    """The message ``key`` in each of ``langs``, in their order: a short label whoever reads
    the page understands ("합성 예시 자료 · Synthetic sample data")."""
    return " · ".join(texts(lang)(key) for lang in langs)


def formatter(lang: str, currency: str, here: City) -> Formatter:
    """Numbers as the language's locale writes them (its messages name it), days in the city's
    time zone."""
    return Formatter(locale_of(lang), currency, ZoneInfo(here.jurisdiction.timezone))


async def page_language(
    here: Annotated[City, Depends(city)],
    lang: Annotated[
        str | None,
        Query(
            description="Language (default: the city's first, see /api/config)",
            json_schema_extra={"enum": languages()},
        ),
    ] = None,
) -> str:
    """The language a page or a feed is written in: ``lang``, any Allimi has messages for
    (names the city gives in no other appear in its first), else the city's first."""
    chosen = here.jurisdiction.language if lang is None else lang
    if chosen not in languages():
        raise Problem(400, f"lang must be one of {', '.join(languages())}.", param="lang")
    return chosen
