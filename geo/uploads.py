"""Files of progress reports: what is accepted, how photos are cleaned, and where files live.

A file is judged by its content, never by its name or declared type (a name that says
another type than the content is refused, not believed): JPEG, PNG and WebP must
start with their signature, decode fully with Pillow and end where the image ends; a PDF must
start with ``%PDF-``, end with ``%%EOF`` after its ``startxref`` and hold objects. Anything
else, or a file that is also something else (bytes after the image, a PDF header inside one),
is refused (415). Photos are re-encoded: nothing of the upload is served but its pixels, the
GPS position and the date taken, so a phone's serial number, the owner's name or a hidden
payload never reach the public. Each image gets a thumbnail.

Files are stored under ``ALLIMI_FILES_DIR`` by the SHA-256 of the bytes served, written to a
temporary name and renamed, so a reader never sees half a file; ``Staging`` removes the files
a write added when the write fails, leaving the store as it was.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
IMAGES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}  # media type -> Pillow format
# A name saying one type of a file that is another is refused: someone is being misled
EXTENSIONS = {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".webp": WEBP, ".pdf": PDF}
MAX_PIXELS = 50_000_000  # a larger image is taken for a decompression bomb
THUMBNAIL_PX = 320
THUMBNAIL_TYPE = WEBP
# Where a PDF reader looks for its header: a PDF header there makes an image a polyglot
PDF_HEADER_WINDOW = 1024
PDF_HEADER = re.compile(rb"\A%PDF-[12]\.\d")
PDF_END = re.compile(rb"startxref\s+\d+\s+%%EOF\s*\Z")
# GPS fields that say where, the only ones kept
POSITION = (
    ExifTags.GPS.GPSLatitudeRef,
    ExifTags.GPS.GPSLatitude,
    ExifTags.GPS.GPSLongitudeRef,
    ExifTags.GPS.GPSLongitude,
)
EXIF_DATE = "%Y:%m:%d %H:%M:%S"


class UploadRefused(Exception):
    """A file that is not stored: 413 (too large) or 415 (not an accepted type)."""

    def __init__(self, status: int, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.status = status
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Prepared:
    """A checked file as it will be stored and served."""

    name: str  # the uploaded file's name, as its title
    media_type: str
    data: bytes
    sha256: str
    thumbnail: bytes | None = None  # images only
    taken_at: datetime | None = None  # EXIF date taken, local time
    position: tuple[float, float] | None = None  # EXIF (lon, lat)

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGES


def sniffed(data: bytes) -> str | None:
    """The accepted media type ``data`` starts like, if any."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _ends_where_the_image_ends(media_type: str, data: bytes) -> bool:
    if media_type == JPEG:
        return data.endswith(b"\xff\xd9")
    if media_type == PNG:
        return data.endswith(b"IEND\xaeB`\x82")
    riff_size = int.from_bytes(data[4:8], "little")
    return len(data) == 8 + riff_size + (riff_size & 1)


def _decoded(name: str, media_type: str, data: bytes) -> Image.Image:
    """The image fully decoded, or 415 when it is not wholly the image it starts like."""

    def refuse(reason: str) -> UploadRefused:
        return UploadRefused(415, name, reason)

    if not _ends_where_the_image_ends(media_type, data):
        raise refuse("it has data after the end of the image")
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        raise refuse("it is an image and a PDF at once")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[IMAGES[media_type]]) as probe:
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=[IMAGES[media_type]])
            if image.width * image.height > MAX_PIXELS:
                raise refuse(f"it has more than {MAX_PIXELS} pixels")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise refuse(f"it does not decode as {IMAGES[media_type]} ({exc})") from None
    return image


def _checked_pdf(name: str, data: bytes) -> None:
    if not PDF_HEADER.match(data):
        raise UploadRefused(415, name, "it does not start with a PDF header (%PDF-1.x)")
    if not PDF_END.search(data[-PDF_HEADER_WINDOW:]):
        raise UploadRefused(415, name, "it does not end as a PDF does (startxref, %%EOF)")
    if not re.search(rb"\d+\s+\d+\s+obj\b", data) or b"endobj" not in data:
        raise UploadRefused(415, name, "it holds no PDF objects")


def _rational(value: Any) -> float:
    if isinstance(value, tuple):  # (numerator, denominator)
        return value[0] / value[1] if value[1] else 0.0
    return float(value)


def _position(gps: dict[int, Any]) -> tuple[float, float] | None:
    """(lon, lat) of an EXIF GPS block, or None when it lacks either."""
    try:
        lat, lon = gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLongitude]
        degrees = [sum(_rational(v) / 60**i for i, v in enumerate(c)) for c in (lon, lat)]
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if gps.get(ExifTags.GPS.GPSLongitudeRef) == "W":
        degrees[0] = -degrees[0]
    if gps.get(ExifTags.GPS.GPSLatitudeRef) == "S":
        degrees[1] = -degrees[1]
    lon_deg, lat_deg = degrees
    if not (-180 <= lon_deg <= 180 and -90 <= lat_deg <= 90):
        return None
    return lon_deg, lat_deg


def _taken_at(exif: Image.Exif) -> datetime | None:
    found = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) or exif.get(
        ExifTags.Base.DateTime
    )
    try:
        return datetime.strptime(str(found).strip("\x00 "), EXIF_DATE) if found else None
    except ValueError:
        return None


def _kept_exif(taken_at: datetime | None, gps: dict[int, Any], kept: bool) -> Image.Exif:
    """An EXIF block with the date taken and the GPS position only."""
    exif = Image.Exif()
    if taken_at is not None:
        exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: taken_at.strftime(EXIF_DATE)}
    if kept:
        exif[ExifTags.IFD.GPSInfo] = {tag: gps[tag] for tag in POSITION}
    return exif


def _encoded(image: Image.Image, media_type: str, exif: Image.Exif | None) -> bytes:
    out = io.BytesIO()
    options: dict[str, Any] = {"exif": exif.tobytes()} if exif is not None and len(exif) else {}
    if media_type == JPEG:
        image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
        options.update(quality=90)
    elif media_type == WEBP:
        options.update(quality=90)
    image.save(out, format=IMAGES[media_type], **options)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    small = image.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if small.mode not in ("RGB", "RGBA", "L"):
        small = small.convert("RGBA")
    return _encoded(small, THUMBNAIL_TYPE, None)


def prepare(name: str, data: bytes, max_bytes: int) -> Prepared:
    """``data`` checked by its content and, for an image, cleaned; ``UploadRefused``
    otherwise."""
    if len(data) > max_bytes:
        raise UploadRefused(413, name, f"it is larger than {max_bytes // 2**20} MB")
    media_type = sniffed(data)
    if media_type is None:
        raise UploadRefused(415, name, "it is not a JPEG, PNG, WebP or PDF file")
    suffix = PurePosixPath(name.lower()).suffix
    if suffix and EXTENSIONS.get(suffix) != media_type:
        raise UploadRefused(415, name, f"it is named {suffix} but its content is {media_type}")
    if media_type == PDF:
        _checked_pdf(name, data)
        return Prepared(name, PDF, data, hashlib.sha256(data).hexdigest())
    decoded = _decoded(name, media_type, data)
    exif = decoded.getexif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    position, taken_at = _position(gps), _taken_at(exif)
    image = ImageOps.exif_transpose(decoded)  # the orientation goes; the pixels keep it
    clean = _encoded(image, media_type, _kept_exif(taken_at, gps, position is not None))
    return Prepared(
        name, media_type, clean, hashlib.sha256(clean).hexdigest(), _thumbnail(image),
        taken_at, position,
    )  # fmt: skip


class FileStore:
    """Files by content hash: ``ab/abcdef…`` and its thumbnail ``ab/abcdef….thumb``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def path_of(sha256: str, thumbnail: bool = False) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256 in hex")
        return f"{sha256[:2]}/{sha256}{'.thumb' if thumbnail else ''}"

    def open(self, relative: str) -> Path:
        return self.root / relative

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """Files added within are removed again when the block raises."""
        staged = Staging(self)
        try:
            yield staged
        except BaseException:
            staged.undo()
            raise


class Staging:
    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.added: list[Path] = []

    def put(self, relative: str, data: bytes) -> None:
        """Store ``data`` at ``relative`` unless it is there already (same hash, same bytes)."""
        target = self.store.root / relative
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.added.append(target)

    def undo(self) -> None:
        for path in self.added:
            path.unlink(missing_ok=True)
        self.added.clear()
