"""A file to import, opened by its content: what it is, its layers, columns, CRS and rows.

The kind is told by the bytes, never by the name alone (an upload's name is the sender's
word): a SQLite header is a GeoPackage, a zip holds a Shapefile, ``<kml`` is KML, a JSON object
with a list ``features`` is GeoJSON and with a list ``projects`` an OC4IDS project package, and
text with a delimiter on every line is CSV. GDAL (pyogrio) reads them all but OC4IDS, which
``geo.imports.oc4ids`` reads; a CSV's encoding is UTF-8 when its bytes decode as such, else
CP949 (the superset of EUC-KR that Korean agencies' exports use), and its delimiter is sniffed.
A GeoPackage or KML file with several layers (KML's folders) needs one chosen.

A zip is unpacked by us, member by member, counting the bytes written: its headers may lie
(a zip bomb), so the declared sizes are checked first and the written ones enforced.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow
import pyogrio
from geopandas import GeoDataFrame

from geo.imports import ImportRefused, oc4ids

SNIFF_BYTES = 65_536
ENCODINGS = ("utf-8", "cp949")
DELIMITERS = {",": "COMMA", ";": "SEMICOLON", "\t": "TAB", "|": "PIPE"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
MAX_RATIO = 100  # a zip member that unpacks to more than 100x its size is taken for a bomb
CHUNK_ROWS = 10_000
GEOARROW = b"ARROW:extension:name"


class Reader(Protocol):
    """What reads a file GDAL does not (an OC4IDS package)."""

    def columns(self) -> list[str]: ...

    def crs(self) -> str | None: ...

    def rows(self, chunk: int) -> Iterator[GeoDataFrame]: ...


@dataclass(frozen=True)
class Source:
    """An opened file: ``path`` is what GDAL reads (the ``.shp`` of an unpacked zip), unless
    ``reader`` reads it."""

    path: Path
    kind: str  # GeoJSON, GeoPackage, Shapefile, KML, CSV or OC4IDS
    layer: str | None = None
    encoding: str | None = None  # a CSV's
    options: dict[str, str] = field(default_factory=dict)  # GDAL open options (a CSV's)
    reader: Reader | None = None

    def info(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = pyogrio.read_info(
                self.path, layer=self.layer, encoding=self.encoding, **self.options
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise ImportRefused(422, f"The {self.kind} file cannot be read: {exc}.") from None
        return found

    def columns(self) -> list[str]:
        if self.reader:
            return self.reader.columns()
        return [str(name) for name in self.info()["fields"]]

    def crs(self) -> str | None:
        """The file's CRS as GDAL names it (``EPSG:5186``), None when it names none."""
        if self.reader:
            return self.reader.crs()
        found = self.info().get("crs")
        return str(found) if found else None

    def rows(self, chunk: int = CHUNK_ROWS) -> Iterator[GeoDataFrame]:
        """The rows in chunks read in one pass over the file (an Arrow stream), so that
        memory does not grow with the file; the geometry, if any, in column ``geometry``."""
        if self.reader:
            yield from self.reader.rows(chunk)
            return
        try:
            with pyogrio.open_arrow(
                self.path, layer=self.layer, encoding=self.encoding, batch_size=chunk,
                use_pyarrow=True, **self.options,
            ) as (_, stream):  # fmt: skip
                for batch in stream:
                    yield _frame(pyarrow.Table.from_batches([batch]))
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise ImportRefused(422, f"The {self.kind} file cannot be read: {exc}.") from None


def _frame(table: pyarrow.Table) -> GeoDataFrame:
    """A batch of rows as a frame, its geometry (GeoArrow WKB with its CRS) as ``geometry``
    (GDAL names it as the format does: ``geom``, ``wkb_geometry``, ...)."""
    found = [f.name for f in table.schema if (f.metadata or {}).get(GEOARROW) == b"geoarrow.wkb"]
    if not found:
        return GeoDataFrame(table.to_pandas())
    frame = GeoDataFrame.from_arrow(table, geometry=found[0])
    return frame if found[0] == "geometry" else frame.rename_geometry("geometry")


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


# A JSON string (a key when a colon follows, with ``[`` when its value is a list), or a bracket
_JSON_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"(\s*:\s*\[)?|[\[\]{}]')


def _lists(head: bytes) -> set[str]:
    """The keys of the JSON object that ``head`` begins (as far as the head goes) whose values
    are lists; a nested object's keys are not its own."""
    found: set[str] = set()
    depth = 0
    for token in _JSON_TOKEN.finditer(head):
        if token[0][:1] in (b"[", b"{"):
            depth += 1
        elif token[0][:1] in (b"]", b"}"):
            depth -= 1
        elif token[2]:
            if depth == 1:
                found.add(token[1].decode(errors="replace"))
            depth += 1
    return found


def _json(path: Path, head: bytes) -> Source:
    """GeoJSON or an OC4IDS package, by the head's own keys; when the head is not the whole
    file and names neither, GDAL is left to read it as GeoJSON."""
    lists = _lists(head)
    if "projects" in lists:
        return Source(path, oc4ids.KIND, reader=oc4ids.read_package(path))
    if "features" in lists or len(head) == SNIFF_BYTES:
        return Source(path, "GeoJSON")
    raise ImportRefused(
        422, "The JSON file is neither a GeoJSON FeatureCollection nor an OC4IDS project package."
    )


def _layer(path: Path, kind: str, layer: str | None) -> str:
    """The layer to read: ``layer``, else the file's only one."""
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError:
        raise ImportRefused(
            422, f"The file looks like {kind} but cannot be read as such."
        ) from None
    if layer is None and len(layers) != 1:
        raise ImportRefused(422, f"Choose one of the {kind} file's layers: {', '.join(layers)}.")
    if layer is not None and layer not in layers:
        raise ImportRefused(422, f"The {kind} file has no layer {layer!r}: {', '.join(layers)}.")
    return layer or layers[0]


def _unzipped(path: Path, into: Path, max_bytes: int) -> Path:
    """The Shapefile a zip holds, unpacked into ``into``; ImportRefused for a bomb or none."""
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
    if kind in ("GeoPackage", "KML"):
        return Source(path, kind, _layer(path, kind, layer))
    if kind == "JSON":
        return _json(path, head)
    if kind == "text":
        return _csv(path, head, into)
    raise ImportRefused(
        422, "The file is none of GeoJSON, GeoPackage, zipped Shapefile, KML, CSV or OC4IDS."
    )
