"""Sample amounts in a city's currency: medians in US dollars, converted at an approximate rate
(``data/demo/rates.json``; 1.0 for a currency it lacks) and rounded the way budgets are
written in that currency: whole multiples of about a thousand dollars, payments to about a
dollar, never finer than the currency's minor unit."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from babel.numbers import get_currency_precision

from geo.settings import DATA_DIR

RATES = DATA_DIR / "demo" / "rates.json"
MIN_BUDGET_USD = 15_000


@cache
def _rates() -> dict[str, float]:
    rates: dict[str, float] = json.loads(RATES.read_text(encoding="utf-8"))["per_usd"]
    return rates


@dataclass(frozen=True)
class Money:
    currency: str

    @property
    def rate(self) -> float:
        """Units of the currency per US dollar."""
        return _rates().get(self.currency, 1.0)

    @property
    def unit(self) -> float:
        """Budgets are whole multiples of this power of ten (about a thousand dollars)."""
        return 10.0 ** round(math.log10(1000 * self.rate))

    @property
    def digits(self) -> int:
        """Decimals that payments are rounded to (negative: to tens, thousands...)."""
        return min(get_currency_precision(self.currency), -round(math.log10(self.rate)))

    def budgets(self, median_usd: np.ndarray, spread: np.ndarray) -> np.ndarray:
        """Budgets around each median (times ``spread``), in round units, none tiny."""
        unit = self.unit
        least = max(unit, round(MIN_BUDGET_USD * self.rate / unit) * unit)
        return np.maximum(np.round(median_usd * (self.rate / unit) * spread, 0) * unit, least)

    def paid(self, amounts: np.ndarray) -> np.ndarray:
        return np.round(amounts, self.digits)

    def column(self, amounts: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """Amounts as a column: integers in a currency without fractions, NaN as missing."""
        values = pd.array(self.paid(amounts), dtype="Float64")
        return values.astype("Int64") if self.digits <= 0 else values
