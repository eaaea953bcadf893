"""A file to import, opened by its content: what it is, its layers, columns, CRS and rows.

The kind is told by the bytes, never by the name alone (an upload's name is the sender's
word): a SQLite header is a GeoPackage, a zip holds a Shapefile, ``<kml`` is KML, JSON with
``features`` is GeoJSON, and text with a delimiter on every line is CSV. GDAL (pyogrio) reads
them all; a CSV's encoding is UTF-8 when its bytes decode as such, else CP949 (the superset of
EUC-KR that Korean agencies' exports use), and its delimiter is sniffed.

A zip is unpacked by us, member by member, counting the bytes written: its headers may lie
(a zip bomb), so the declared sizes are checked first and the written ones enforced.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyogrio
from geopandas import GeoDataFrame

from geo.imports import ImportRefused

SNIFF_BYTES = 65_536
ENCODINGS = ("utf-8", "cp949")
DELIMITERS = {",": "COMMA", ";": "SEMICOLON", "\t": "TAB", "|": "PIPE"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
MAX_RATIO = 100  # a zip member that unpacks to more than 100x its size is taken for a bomb
CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class Source:
    """An opened file: ``path`` is what GDAL reads (the ``.shp`` of an unpacked zip)."""

    path: Path
    kind: str  # GeoJSON, GeoPackage, Shapefile, KML or CSV
    layer: str | None = None
    encoding: str | None = None  # a CSV's
    options: dict[str, str] = field(default_factory=dict)  # GDAL open options (a CSV's)

    def info(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = pyogrio.read_info(
                self.path, layer=self.layer, encoding=self.encoding, **self.options
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise ImportRefused(422, f"The {self.kind} file cannot be read: {exc}.") from None
        return found

    def columns(self) -> list[str]:
        return [str(name) for name in self.info()["fields"]]

    def crs(self) -> str | None:
        """The file's CRS as GDAL names it (``EPSG:5186``), None when it names none."""
        found = self.info().get("crs")
        return str(found) if found else None

    def rows(self, chunk: int = CHUNK_ROWS) -> Iterator[GeoDataFrame]:
        """The rows in chunks, so that memory does not grow with the file."""
        start = 0
        while True:
            try:
                frame = pyogrio.read_dataframe(
                    self.path,
                    layer=self.layer,
                    encoding=self.encoding,
                    skip_features=start,
                    max_features=chunk,
                    **self.options,
                )
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                raise ImportRefused(422, f"The {self.kind} file cannot be read: {exc}.") from None
            if frame.empty:
                return
            yield frame
            start += len(frame)
            if len(frame) < chunk:
                return


def _kind(head: bytes) -> str | None:
    if head.startswith(b"SQLite format 3\x00"):
        return "GeoPackage"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and b"<kml" in head[:4096]:
        return "KML"
    if text.startswith(b"{"):
        return "JSON"
    return "text" if b"\x00" not in head else None


def _unzipped(path: Path, into: Path, max_bytes: int) -> Path:
    """The Shapefile a zip holds, unpacked into ``into``; SourceError for a bomb or none."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportRefused(
            422, "The file starts as a zip archive but is not a readable one."
        ) from None
    with archive:
        members = [
            m for m in archive.infolist() if Path(m.filename).suffix.lower() in SHAPEFILE_PARTS
        ]
        shapes = [m for m in members if m.filename.lower().endswith(".shp")]
        if len(shapes) != 1:
            found = ", ".join(m.filename for m in archive.infolist()[:10]) or "nothing"
            raise ImportRefused(
                422,
                f"A zip must hold exactly one Shapefile (.shp with its .dbf); it holds {found}.",
            )
        stem = shapes[0].filename[: -len(".shp")]
        parts = [m for m in members if m.filename[: -len(Path(m.filename).suffix)] == stem]
        declared = sum(m.file_size for m in parts)
        if declared > max_bytes or any(
            m.file_size > MAX_RATIO * max(m.compress_size, 1) for m in parts
        ):
            raise ImportRefused(
                413,
                f"The zip unpacks to {declared:,} bytes, or far more than it holds: at most "
                f"{max_bytes:,} bytes are taken, at most {MAX_RATIO}x compressed.",
            )
        written = 0
        for member in parts:
            target = into / ("shape" + Path(member.filename).suffix.lower())
            with archive.open(member) as source, target.open("wb") as out:
                while block := source.read(1 << 20):
                    written += len(block)
                    if written > max_bytes:
                        raise ImportRefused(
                            413, f"The zip unpacks to more than {max_bytes:,} bytes."
                        )
                    out.write(block)
    return into / "shape.shp"


def _utf8(path: Path, encoding: str, into: Path) -> Path:
    """A copy of the text file ``path`` in UTF-8, in ``into`` (GDAL reads CSV as UTF-8)."""
    copy = into / "table.csv"
    with (
        path.open(encoding=encoding, newline="") as source,
        copy.open("w", encoding="utf-8", newline="") as out,
    ):
        while block := source.read(1 << 20):
            out.write(block)
    return copy


def _csv(path: Path, head: bytes, into: Path) -> Source:
    for encoding in ENCODINGS:
        try:
            sample = head.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut off by the sample's end
                sample = head[: exc.start].decode(encoding)
                break
    else:
        raise ImportRefused(422, "The text file is neither UTF-8 nor CP949/EUC-KR.")
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", "".join(DELIMITERS))
    except csv.Error:
        raise ImportRefused(
            422, "The text file is no CSV: no delimiter (, ; tab |) separates its first line."
        ) from None
    options = {"SEPARATOR": DELIMITERS[dialect.delimiter], "AUTODETECT_TYPE": "NO"}
    if encoding != "utf-8":
        try:
            path = _utf8(path, encoding, into)
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                422, f"The text file is neither UTF-8 nor {encoding.upper()}: {exc.reason}."
            ) from None
    return Source(path, "CSV", options=options)


def open_source(path: Path, into: Path, *, layer: str | None = None, max_bytes: int) -> Source:
    """``path`` opened as what its content is; a zip is unpacked into the directory ``into``.
    ``layer`` chooses a GeoPackage's layer (needed when it has several)."""
    if path.stat().st_size > max_bytes:
        raise ImportRefused(413, f"The file is larger than {max_bytes:,} bytes.")
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
    kind = _kind(head)
    if kind == "zip":
        return Source(_unzipped(path, into, max_bytes), "Shapefile")
    if kind == "GeoPackage":
        try:
            layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        except pyogrio.errors.DataSourceError:
            raise ImportRefused(
                422, "The file starts as SQLite but is no readable GeoPackage."
            ) from None
        if layer is None and len(layers) != 1:
            raise ImportRefused(422, f"Choose one of the GeoPackage's layers: {', '.join(layers)}.")
        if layer is not None and layer not in layers:
            raise ImportRefused(422, f"The GeoPackage has no layer {layer!r}: {', '.join(layers)}.")
        return Source(path, "GeoPackage", layer or layers[0])
    if kind == "KML":
        return Source(path, "KML", layer)
    if kind == "JSON":
        try:
            with path.open("rb") as file:
                opening = json.loads(file.read()) if path.stat().st_size <= SNIFF_BYTES else None
        except ValueError:
            raise ImportRefused(422, "The file starts as JSON but is not valid JSON.") from None
        if opening is not None and not isinstance(opening.get("features"), list):
            raise ImportRefused(422, "The JSON file is no GeoJSON FeatureCollection.")
        return Source(path, "GeoJSON")
    if kind == "text":
        return _csv(path, head, into)
    raise ImportRefused(
        422, "The file is none of GeoJSON, GeoPackage, zipped Shapefile, KML or CSV."
    )
