"""Bulk imports: the files agencies already have, brought in with a dry run and all or nothing.

``source`` opens a file by its content (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV in
UTF-8 or CP949/EUC-KR through pyogrio; OC4IDS packages through ``oc4ids``); ``mapping`` is the
declarative field mapping from a file's columns to a project's fields, and suggests one from
the column names and sample values; ``load`` stages, checks, compares and applies the rows,
and ``history`` what a package's projects bring beside them; ``jobs`` runs an import sent to
the API.
"""

from geo.errors import AllimiError

# An import job runs, then is done (its report: a dry run, applied, or rows rejected), refused
# (the file or mapping as a whole) or failed (the database, say)
JOB_STATES = ("running", "done", "refused", "failed")


class ImportRefused(AllimiError):
    """A whole file or mapping refused: the HTTP status it means (413 too large, 422 otherwise,
    409 no city), one sentence, and each (field, reason) where there are several."""

    def __init__(self, status: int, reason: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.errors = errors or []
