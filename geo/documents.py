"""The documents a project lists, as the pages standing in for them read them."""

from __future__ import annotations

from geo.sql import Query

SAMPLE_COLUMNS = ("title", "published_on", "code", "project_title")


def sample_document(code: str, document_type: str, url: str) -> Query:
    """The ``SAMPLE_COLUMNS`` of the document of type ``document_type`` that the published
    sample project ``code`` lists at ``url``; no row when it lists none there."""
    return Query(
        """
        SELECT doc.title, doc.published_on, p.code, p.title AS project_title
        FROM documents doc JOIN projects p ON p.id = doc.project_id
        WHERE p.code = %(code)s AND p.published AND p.is_sample
          AND doc.document_type = %(document_type)s AND doc.url = %(url)s
        ORDER BY doc.id LIMIT 1""",
        {"code": code, "document_type": document_type, "url": url},
    )


def stored_file(sha256: str, thumbnail: bool) -> Query:
    """(stored path, media type, title) of a disclosed file (``geo.uploads``) or of its
    thumbnail; no row when no public document has it."""
    column = "thumbnail_path" if thumbnail else "file_path"
    kind = "'image/webp'" if thumbnail else "media_type"
    return Query(
        f"SELECT {column}, {kind}, title FROM documents "  # noqa: S608 - constants above
        f"WHERE sha256 = %(sha256)s AND {column} IS NOT NULL ORDER BY id LIMIT 1",
        {"sha256": sha256},
    )
