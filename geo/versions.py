"""The data version: a counter every write to the disclosed tables bumps (a statement trigger,
migration 0002), so whatever was made from the data stays valid while it holds."""

from __future__ import annotations

from geo.sql import Query

DATA_VERSION = Query("SELECT version FROM data_version")
