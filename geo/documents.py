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
