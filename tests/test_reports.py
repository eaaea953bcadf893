"""Progress reports with photos over HTTP: a contractor's report waits for an official of the
agency, photos lose their EXIF but position and date and are flagged when taken far away, and
every refused upload leaves the database and the file store as they were."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from PIL import ExifTags, Image
from sqlalchemy import Engine, text

from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests import city
from tests.conftest import Server, hand_made_city, problem, serve, signed_in

CODE = city.ROAD.code  # TEST-ROADS, contractor (주)한빛시험토건, 127.0000..127.0010 at 37.5
ON_SITE = (127.0005, 37.5)
KM_NORTH = (127.0005, 37.5093)  # ~1.03 km north of the street
MAX_MB = 1


@dataclass(frozen=True)
class Site:
    server: Server
    engine: Engine
    files: Path
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def state(self) -> tuple[object, ...]:
        """What a refused upload must leave as it was: rows, log and stored files."""
        with self.engine.connect() as conn:
            counts = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM progress_reports), "
                    "(SELECT count(*) FROM documents), (SELECT count(*) FROM changes), "
                    "(SELECT updated_at FROM projects WHERE code = :c)"
                ),
                {"c": CODE},
            ).one()
        stored = sorted(str(p) for p in self.files.rglob("*")) if self.files.exists() else []
        return (*counts, stored)


@pytest.fixture(scope="module")
def site(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The hand-made test city in a database of its own, files in a folder of its own."""
    name = "allimi_test_reports"
    url = hand_made_city(settings, name)
    engine = engine_for(url)
    files = tmp_path_factory.mktemp("files")
    with engine.begin() as conn:
        people = signed_in(
            conn,
            [
                ("builder", "contractor", None, city.ROAD.contractor),
                ("stranger", "contractor", None, "(주)다른건설"),
                ("roads", "official", "TEST-ROADS"),
                ("water", "official", "TEST-WATER"),
                ("admin", "admin"),
            ],
        )
    tokens = {who: token for who, (_, token) in people.items()}
    running_settings = Settings(
        database_url=url, version_ttl=0, files_dir=files, upload_max_mb=MAX_MB, upload_max_files=3
    )
    for running in serve(running_settings):
        yield Site(running, engine, files, tokens)
    engine.dispose()
    drop_database(url)


def _dms(degrees: float) -> tuple[Fraction, Fraction, Fraction]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = (degrees - whole - minutes / 60) * 3600
    return Fraction(whole), Fraction(minutes), Fraction(seconds).limit_denominator(10000)


def photo(
    where: tuple[float, float] = ON_SITE, taken: str = "2026:07:10 09:30:00", fmt: str = "JPEG"
) -> bytes:
    """A photo as a phone makes one: position and date, and the make, model, owner and serial
    number that must not be served."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pocket 7"
    exif[ExifTags.Base.Artist] = "Kim Cheolsu"
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.DateTimeOriginal: taken,
        ExifTags.Base.BodySerialNumber: "SN-0042",
    }
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: _dms(where[1]),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: _dms(where[0]),
        ExifTags.GPS.GPSAltitude: Fraction(31),
    }
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 130, 140)).save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
    b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n"
)


def _report(
    site: Site, who: str, day: str, files: list[tuple[str, bytes]], code: str = CODE, **fields
) -> httpx.Response:
    data = {"reported_on": day, "actual": "55", "planned": "65", "spent_to_date": "500000000"}
    data.update(fields)
    return site.server.http.post(
        f"/api/projects/{code}/progress",
        data={k: v for k, v in data.items() if v is not None},
        files=[("files", (name, body)) for name, body in files],
        headers=site.as_(who),
    )


def _public(site: Site) -> dict:
    return site.server.http.get(f"/api/projects/{CODE}").json()["properties"]


def test_a_contractors_report_is_public_only_once_approved(site: Site) -> None:
    made = _report(site, "builder", "2026-07-15", [("site.jpg", photo())])
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "pending"
    url = made.json()["files"][0]
    public = _public(site)
    assert "2026-07-15" not in [r["reported_on"] for r in public["reports"]]
    assert url not in [d["url"] for d in public["documents"]]
    assert public["progress_actual"] == 40.0
    assert site.server.http.get(url).status_code == 404  # not served while pending
    queue = site.server.http.get("/api/reports/pending", headers=site.as_("roads")).json()
    assert [r["id"] for r in queue] == [made.json()["id"]]
    assert site.server.http.get("/api/reports/pending", headers=site.as_("water")).json() == []

    log = len(site.server.http.get(f"/api/projects/{CODE}/changes").json()["changes"])
    approved = site.server.http.post(
        f"/api/reports/{made.json()['id']}/approve", headers=site.as_("roads")
    )
    assert approved.json() == {"id": made.json()["id"], "state": "approved"}
    public = _public(site)
    assert (public["progress_actual"], public["progress_planned"], public["spent"]) == (
        55.0, 65.0, 500000000.0,
    )  # fmt: skip
    assert "2026-07-15" in [r["reported_on"] for r in public["reports"]]
    shown = next(d for d in public["documents"] if d["url"] == url)
    assert shown["thumbnail_url"] == f"{url}/thumbnail" and shown["flag"] is None
    served = site.server.http.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert site.server.http.get(f"{url}/thumbnail").headers["content-type"] == "image/webp"
    changes = site.server.http.get(f"/api/projects/{CODE}/changes").json()["changes"]
    assert len(changes) == log + 1
    entry = json.loads(changes[0]["content"])
    assert (entry["action"], entry["role"]) == ("report", "official")
    assert entry["fields"]["progress_actual"] == ["40", "55"]
    assert entry["fields"]["reported_by"] == [None, "contractor"]
    again = site.server.http.post(
        f"/api/reports/{made.json()['id']}/reject", headers=site.as_("roads")
    )
    assert "already approved" in again.json()["detail"] and again.status_code == 409


def test_a_pending_reports_files_are_seen_by_who_may_see_the_report(site: Site) -> None:
    made = _report(
        site, "builder", "2026-07-16", [("pending.jpg", photo(taken="2026:07:16 08:00:00"))]
    )
    assert made.status_code == 201, made.text
    queue = site.server.http.get("/api/reports/pending", headers=site.as_("roads")).json()
    waiting = next(r for r in queue if r["id"] == made.json()["id"])
    (document,) = waiting["documents"]
    sha = made.json()["files"][0].rsplit("/", 1)[1]
    assert document["url"] == f"/api/reports/{made.json()['id']}/files/{sha}"
    for who in ("roads", "builder", "admin"):
        seen = site.server.http.get(document["url"], headers=site.as_(who))
        assert seen.status_code == 200, (who, seen.text)
        assert seen.headers["content-type"] == "image/jpeg"
        assert seen.headers["cache-control"] == "private, no-store"
        thumbnail = site.server.http.get(document["thumbnail_url"], headers=site.as_(who))
        assert thumbnail.headers["content-type"] == "image/webp"
    for who, why in (("water", "its own agency only"), ("stranger", "it is named on")):
        refused = site.server.http.get(document["url"], headers=site.as_(who))
        assert problem(refused, 403) == [] and why in refused.json()["detail"]
    assert problem(site.server.http.get(document["url"]), 401) == ["Authorization"]
    other = f"/api/reports/{made.json()['id']}/files/{'0' * 64}"
    missing = site.server.http.get(other, headers=site.as_("roads"))
    assert problem(missing, 404) == [] and "has no such file" in missing.json()["detail"]
    assert site.server.http.get(f"/files/{sha}").status_code == 404
    rejected = site.server.http.post(
        f"/api/reports/{made.json()['id']}/reject", headers=site.as_("roads")
    )
    assert rejected.json()["state"] == "rejected"
    assert site.server.http.get(f"/files/{sha}").status_code == 404
    assert site.server.http.get(document["url"], headers=site.as_("builder")).status_code == 200


def test_a_contractor_sees_its_projects_and_the_state_of_its_reports(site: Site) -> None:
    made = _report(site, "builder", "2026-07-17", [])
    assert made.status_code == 201, made.text
    mine = site.server.http.get("/api/reports/assigned", headers=site.as_("builder")).json()
    assert [p["code"] for p in mine] == [CODE]
    states = {r["id"]: r["state"] for r in mine[0]["reports"]}
    assert states[made.json()["id"]] == "pending"
    assert site.server.http.get("/api/reports/assigned", headers=site.as_("stranger")).json() == []
    refused = site.server.http.get("/api/reports/assigned", headers=site.as_("roads"))
    assert problem(refused, 403) == ["Authorization"]
    site.server.http.post(f"/api/reports/{made.json()['id']}/reject", headers=site.as_("roads"))


def test_served_photos_keep_only_their_position_and_date(site: Site) -> None:
    made = _report(site, "roads", "2026-07-20", [("far.jpg", photo(KM_NORTH))])
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "approved"
    url = made.json()["files"][0]
    served = Image.open(io.BytesIO(site.server.http.get(url).content))
    exif = served.getexif()
    assert set(exif) == {ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo}  # no make, model, artist
    assert exif.get_ifd(ExifTags.IFD.Exif) == {
        ExifTags.Base.DateTimeOriginal: "2026:07:10 09:30:00"
    }
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert set(gps) == {1, 2, 3, 4}  # latitude and longitude with their references only
    assert served.info.get("exif") is not None and b"SN-0042" not in served.info["exif"]
    shown = next(d for d in _public(site)["documents"] if d["url"] == url)
    assert shown["flag"] == "photo taken 1.0 km away"
    assert shown["photo_flags"]["outside_on"] is None  # what each language says it from
    assert round(shown["photo_flags"]["far_m"] / 100) == 10
    assert shown["taken_at"] == "2026-07-10T09:30:00"


def test_a_photo_taken_before_the_works_is_flagged(site: Site) -> None:
    made = _report(site, "admin", "2026-07-21", [("old.png", photo(taken="2024:01:02 08:00:00",
                                                                   fmt="PNG"))])  # fmt: skip
    assert made.status_code == 201, made.text
    shown = next(d for d in _public(site)["documents"] if d["url"] == made.json()["files"][0])
    assert shown["flag"] == (
        "photo taken on 2024-01-02, outside the project's period (2026-01-05 to 2027-03-31)"
    )
    assert shown["photo_flags"] == {"far_m": None, "outside_on": "2024-01-02"}


def test_a_pdf_is_served_as_an_attachment(site: Site) -> None:
    made = _report(site, "roads", "2026-07-22", [("공정 보고.pdf", PDF)])
    assert made.status_code == 201, made.text
    served = site.server.http.get(made.json()["files"][0])
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("plan.pdf", png()),
        ("photo.jpg", b"just some text, not a photo at all\n"),
        ("both.png", png() + PDF),
        ("cut.jpg", photo()[:-600]),
        ("page.pdf", b"%PDF-1.4\n<html><script>alert(1)</script></html>"),
    ],
    ids=["png named pdf", "text named jpg", "polyglot", "truncated jpeg", "pdf without body"],
)
def test_files_are_judged_by_their_content(site: Site, name: str, body: bytes) -> None:
    before = site.state()
    response = _report(site, "roads", "2026-08-01", [("fine.jpg", photo()), (name, body)])
    assert problem(response, 415) == ["files"]
    assert name in response.json()["detail"]
    assert site.state() == before


def test_too_big_or_too_many_files_are_refused_and_nothing_is_stored(site: Site) -> None:
    before = site.state()
    big = b"%PDF-1.4\n" + b"0" * (MAX_MB * 2**20) + PDF[9:]
    assert problem(_report(site, "roads", "2026-08-02", [("big.pdf", big)]), 413) == ["files"]
    many = [(f"p{n}.jpg", photo()) for n in range(4)]
    assert problem(_report(site, "roads", "2026-08-02", many), 413) == ["files"]
    assert site.state() == before


def test_who_may_report_and_decide(site: Site) -> None:
    before = site.state()
    one = [("site.jpg", photo())]
    assert "named on" in _report(site, "stranger", "2026-08-03", one).json()["detail"]
    assert _report(site, "water", "2026-08-03", one).status_code == 403
    assert _report(site, "builder", "2026-08-03", one, code="NO-SUCH").status_code == 404
    problem(site.server.http.post(f"/api/projects/{CODE}/progress"), 401)
    assert problem(_report(site, "builder", "2026-08-03", one, actual="120"), 422) == ["actual"]
    assert problem(_report(site, "builder", "2026-13-01", one), 422) == ["reported_on"]
    assert site.state() == before

    pending = _report(site, "builder", "2026-08-04", one).json()["id"]
    refused = site.server.http.post(f"/api/reports/{pending}/approve", headers=site.as_("water"))
    assert problem(refused, 403) == [] and "own agency" in refused.json()["detail"]
    by_contractor = site.server.http.post(
        f"/api/reports/{pending}/approve", headers=site.as_("builder")
    )
    assert problem(by_contractor, 403) == ["Authorization"]
    rejected = site.server.http.post(f"/api/reports/{pending}/reject", headers=site.as_("admin"))
    assert rejected.json()["state"] == "rejected"
    public = _public(site)
    assert "2026-08-04" not in [r["reported_on"] for r in public["reports"]]
