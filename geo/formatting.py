"""Money, numbers and dates as a reader of one locale writes them, from CLDR (Babel).

web/static/js/format.js applies the same rules with the browser's Intl.NumberFormat (ICU, the
same CLDR data); tests/formatting_cases.json holds both to the same strings.

- ``exact``: the amount in full with its currency and the currency's CLDR fraction digits.
- ``money``, as people read large amounts: below 1,000,000 (absolute value) the amount in full,
  fraction digits only when it does not round to a whole amount ("₩999,999", "฿12.50",
  "฿850,000"); from 1,000,000 the number in CLDR's long compact form with at most two fraction
  digits, the currency symbol where the locale's currency pattern puts it ("₩13.3억",
  "12,5 tỷ ₫", "₩1.33 billion").
- ``pct``: the locale's percent form of a value already in percent, at most one fraction digit.

Rounding is half away from zero (Intl's default); an amount that rounds to zero has no sign.
Every space-like character (U+0020, U+202F) is written as U+00A0, so both sides compare exactly.
Where Babel 2.19 and ICU part, this module does what ICU does (the locale's own minus sign,
currency spacing, grouping of compact numbers past the largest unit) and format.js always
groups full numbers, as Babel does (it lacks CLDR's minimum grouping digits: es "1.234").
Still apart: de-CH (Babel reads its apostrophe group separator as a quote) and the bidi marks
ICU adds in Arabic-script locales.
"""

from __future__ import annotations

import copy
import decimal
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.numbers import (
    NumberPattern,
    format_compact_decimal,
    get_currency_precision,
    get_currency_symbol,
    parse_pattern,
)

MISSING = "—"
COMPACT_FROM = 1_000_000
SPACES = str.maketrans({" ": "\u00a0", "\u202f": "\u00a0"})


@cache
def cldr_locale(tag: str) -> Locale:
    """Babel's locale for a BCP 47 tag ("en-GB" → en_GB)."""
    return Locale.parse(tag, sep="-")


@contextmanager
def _half_up() -> Iterator[None]:
    """Babel rounds in the current decimal context: round as Intl does."""
    with decimal.localcontext(rounding=decimal.ROUND_HALF_UP):
        yield


def _rounded(value: Decimal, digits: int) -> Decimal:
    """``value`` to ``digits`` fraction digits; a zero loses its sign ("-0.4" → "0")."""
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-digits))
    return abs(rounded) if rounded == 0 else rounded


def _each(affixes: tuple[str, str], change: Callable[[str], str]) -> tuple[str, str]:
    """A pattern's (positive, negative) prefixes or suffixes, changed."""
    positive, negative = affixes
    return change(positive), change(negative)


def _pattern(cldr: str, locale: Locale, least: int, most: int) -> NumberPattern:
    """A CLDR number pattern with ``least`` to ``most`` fraction digits, its "-" and "%" written
    as the locale's minus and percent signs, as CLDR means them (Babel 2.19 copies them as they
    are: sv writes U+2212 MINUS SIGN)."""
    pattern = copy.copy(parse_pattern(cldr))
    pattern.frac_prec = (least, most)
    symbols = locale.number_symbols["latn"]
    signs = str.maketrans({"-": symbols["minusSign"], "%": symbols["percentSign"]})
    pattern.prefix = _each(pattern.prefix, lambda affix: affix.translate(signs))
    pattern.suffix = _each(pattern.suffix, lambda affix: affix.translate(signs))
    return pattern


def _spaced(pattern: NumberPattern, symbol: str) -> NumberPattern:
    """CLDR's currency spacing (the same in every locale; Babel 2.19 skips it): a currency symbol
    that does not end in a symbol or space character is set off from the digits ("CHF 12")."""

    def apart(char: str) -> bool:
        return unicodedata.category(char)[0] not in "SZ"

    if apart(symbol[-1]):
        pattern.prefix = _each(pattern.prefix, lambda a: a + "\u00a0" if a.endswith("¤") else a)
    if apart(symbol[0]):
        pattern.suffix = _each(pattern.suffix, lambda a: "\u00a0" + a if a.startswith("¤") else a)
    return pattern


@dataclass(frozen=True)
class Formatter:
    """Formats for one locale (BCP 47 tag), one currency (ISO 4217) and one time zone."""

    locale: str
    currency: str
    tz: ZoneInfo

    def money(self, value: Decimal | None) -> str:
        if value is None:
            return MISSING
        with _half_up():
            if abs(value) >= COMPACT_FROM:
                number = self._compact(abs(value))
                unit = self._currency(Decimal(-1 if value < 0 else 1), 0)
                return unit.replace("1", number, 1).translate(SPACES)
            digits = get_currency_precision(self.currency)
            rounded = _rounded(value, digits)
            whole = rounded == rounded.to_integral_value()
            return self._currency(rounded, 0 if whole else digits).translate(SPACES)

    def exact(self, value: Decimal | None) -> str:
        if value is None:
            return MISSING
        digits = get_currency_precision(self.currency)
        with _half_up():
            return self._currency(_rounded(value, digits), digits).translate(SPACES)

    def pct(self, value: Decimal | None) -> str:
        if value is None:
            return MISSING
        pattern = _pattern(self._cldr.percent_formats[None].pattern, self._cldr, 0, 1)
        with _half_up():
            share = _rounded(value, 1).scaleb(-2)
            return pattern.apply(share, self._cldr).translate(SPACES)

    def count(self, n: int | None) -> str:
        return MISSING if n is None else self._whole(n)

    def day(self, value: str | None) -> str:
        """An ISO date, or an ISO timestamp on its day in ``tz``, in the medium date format."""
        if not value:
            return MISSING
        if "T" in value:
            on = datetime.fromisoformat(value).astimezone(self.tz).date()
        else:
            on = date.fromisoformat(value)
        return format_date(on, "medium", locale=self._cldr).translate(SPACES)

    @property
    def _cldr(self) -> Locale:
        return cldr_locale(self.locale)

    def _whole(self, n: int) -> str:
        pattern = _pattern(self._cldr.decimal_formats[None].pattern, self._cldr, 0, 0)
        return pattern.apply(n, self._cldr).translate(SPACES)

    def _compact(self, size: Decimal) -> str:
        """CLDR's long compact form of ``size`` with at most two fraction digits. Past the largest
        unit the number is grouped from 10,000 on, as ICU does ("10,000조", not "10000조")."""
        text = format_compact_decimal(
            size, format_type="long", fraction_digits=2, locale=self._cldr
        )
        whole = re.search(r"[0-9]+", text)
        if whole and int(whole[0]) >= 10_000:
            text = text[: whole.start()] + self._whole(int(whole[0])) + text[whole.end() :]
        return text

    def _currency(self, value: Decimal, digits: int) -> str:
        standard = self._cldr.currency_formats["standard"].pattern
        symbol = get_currency_symbol(self.currency, self._cldr)
        pattern = _spaced(_pattern(standard, self._cldr, digits, digits), symbol)
        return pattern.apply(value, self._cldr, currency=self.currency, currency_digits=False)
