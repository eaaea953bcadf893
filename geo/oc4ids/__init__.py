"""OC4IDS (0.9.5) out of Allimi: every published project as a project of an OC4IDS project
package, built by PostGIS (``export``) with Allimi's vocabularies mapped to the standard's
codelists (``codes``). ``geo.imports.oc4ids`` reads such a package back.

What a project says, and where:

- ``id``: ``<prefix>-<code>``, the prefix being the one registered with CoST/OCDS
  (``ALLIMI_OC4IDS_PREFIX``); a project imported from an OC4IDS package keeps the id it came
  with (its source key), since an OC4IDS id names a project the world over (one of this
  portal's own prefix keeps its code too: ``geo.imports.identity``).
- ``period``: the planned dates as they are now; the construction contract's
  ``contractPeriod`` and ``contractValue`` are as first known, and each cost and schedule change
  of the public change log is a ``modification`` of it, with its date and reason.
- ``metrics`` (actual) and ``forecasts`` (planned): an observation per approved progress
  report, dated, and one without a date (id ``current``) where the project's figure is not its
  last report's; payments (``transactions``) are the rises of the money spent from one report
  to the next.
- The agency is the public authority and buyer (and payer of the payments), the contractor the
  supplier of the construction contract, the supervisor that of the supervision contract.
- Allimi's own fields where the standard has none (OC4IDS allows additional fields; none is a
  code of a codelist) sit in an object ``allimi``: on a project its ``category`` (sectors are
  coarser: water supply and sewers are both ``waterAndWaste``), its ``status`` (``suspended``
  is ``implementation`` in the standard) and ``sample: true`` for a synthetic demo project; on
  a modification ``oldBudget`` and ``newBudget``, as the standard records no budget changes.

Withdrawn projects are not disclosed as projects any more; their record stays in the change
log. No field is written empty: a missing value leaves its field out.
"""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# An OC4IDS project id: a registered prefix (``oc4ids-`` and six letters or digits), a dash and
# the publisher's own id
PREFIX = r"^oc4ids-[a-z0-9]{6}$"
PROJECT_ID = r"^oc4ids-[a-z0-9]{6}-."
VERSION = "0.9"  # the package's ``version``: the schema's major.minor (0.9.5)


class OC4IDSSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLIMI_OC4IDS_", extra="ignore")

    prefix: str = Field(
        default="oc4ids-xxxxxx",
        pattern=PREFIX,
        description="The project identifier prefix registered with CoST/OCDS: exported project "
        "ids are <prefix>-<code>.",
    )


@cache
def oc4ids_settings() -> OC4IDSSettings:
    return OC4IDSSettings()
