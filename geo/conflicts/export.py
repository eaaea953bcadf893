"""Conflicts out of the portal: CSV rows, and a district's coordination report, a single HTML
page with a folium map and the table that works with no network (Leaflet is inlined from the
copy the portal serves; base-map tiles show only where they can be reached)."""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import folium

from geo.conflicts.rules import Rules
from geo.jurisdiction import Jurisdiction
from geo.settings import Settings
from geo.sql import Query
from web import LEAFLET_DIR
from web.messages import message

COLUMNS = (
    "id", "kind", "status", "holds", "distance_m", "overlap_days", "gap_days",
    "a_code", "a_title", "a_agency", "a_start", "a_end",
    "b_code", "b_title", "b_agency", "b_start", "b_end",
    "zone_id", "zone_reason", "zone_start", "zone_end",
    "days_saved", "money_saved", "note", "found_at",
)  # fmt: skip
KIND_COLORS = {"clash": "#d7191c", "dig_once": "#2b83ba", "moratorium": "#7b3294"}
# A cell of a spreadsheet that starts so is taken for a formula: written with a quote first
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value


def _flat(properties: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: properties.get(k) for k in ("id", "kind", "status", "holds", "distance_m",
                                          "overlap_days", "gap_days", "days_saved",
                                          "money_saved", "note", "found_at")}  # fmt: skip
    for side in ("a", "b"):
        work = properties.get(side) or {}
        for name in ("code", "title", "agency", "start", "end"):
            row[f"{side}_{name}"] = work.get(name)
    zone = properties.get("zone") or {}
    row.update(zone_id=zone.get("id"), zone_reason=zone.get("reason"),
               zone_start=zone.get("start"), zone_end=zone.get("end"))  # fmt: skip
    return row


def csv_of(collection: str) -> str:
    """The conflicts of a FeatureCollection (``listing.conflicts``) as CSV with a header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for feature in json.loads(collection)["features"]:
        writer.writerow({k: _cell(v) for k, v in _flat(feature["properties"]).items()})
    return out.getvalue()


def district_outline(code: str) -> Query:
    """A district's code, names and outline (GeoJSON), for its report."""
    return Query(
        "SELECT code, name, ST_AsGeoJSON(geom, 6)::json AS geometry FROM districts "
        "WHERE code = %(code)s",
        {"code": code},
    )


def _money(value: Any, currency: str) -> str:
    return f"{Decimal(str(value)):,.0f} {currency}" if value is not None else ""


HEAD = ("kind", "status", "work", "other", "distance", "days", "days_saved", "money_saved")


def _table(features: list[dict[str, Any]], currency: str, say: Callable[..., str]) -> str:
    rows = []
    for feature in features:
        p = feature["properties"]
        a, b, zone = p["a"], p.get("b"), p.get("zone")
        other = (f"{b['code']} {b['title']}" if b
                 else say("report.zone", reason=(zone or {}).get("reason") or ""))  # fmt: skip
        days = (say("report.overlap", days=p["overlap_days"]) if p["overlap_days"]
                else say("report.apart", days=p["gap_days"]))  # fmt: skip
        cells = (say(f"plan.kind.{p['kind']}"), say(f"plan.status.{p['status']}"),
                 f"{a['code']} {a['title']}", other, p["distance_m"], days,
                 p.get("days_saved") or "", _money(p.get("money_saved"), currency))  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(say(f'report.{h}'))}</th>" for h in HEAD)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _summary(features: list[dict[str, Any]], currency: str, say: Callable[..., str]) -> str:
    kinds = Counter(f["properties"]["kind"] for f in features)
    statuses = Counter(f["properties"]["status"] for f in features)
    coordinated = [f["properties"] for f in features if f["properties"]["status"] == "coordinated"]
    days = sum(p.get("days_saved") or 0 for p in coordinated)
    money = sum(Decimal(str(p.get("money_saved") or 0)) for p in coordinated)
    parts = [f"{say(f'plan.kind.{k}')} {n}" for k, n in sorted(kinds.items())]
    parts += [f"{say(f'plan.status.{s}')} {n}" for s, n in sorted(statuses.items())]
    return html.escape(say("report.summary", count=len(features), parts=", ".join(parts) or "-",
                           days=days, money=_money(money, currency)))  # fmt: skip


def _parts(geometry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A geometry collection's members (a map layer styles and labels each), else itself."""
    if geometry["type"] == "GeometryCollection":
        return [g for member in geometry["geometries"] for g in _parts(member)]
    return [geometry]


# folium writes the map's element last: the page is a column that puts it after the header
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; }
header, section { padding: 0.5rem 1rem; }
header { order: 0; } section { order: 2; }
.folium-map { order: 1; height: 60vh !important; position: relative !important; flex: none; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
"""


def report_html(
    city: Jurisdiction,
    district: Mapping[str, Any],
    collection: str,
    rules: Rules,
    settings: Settings,
) -> str:
    """The coordination report of ``district`` (a ``district_outline`` row) over its
    conflicts (a FeatureCollection of ``listing.conflicts``), as one self-contained page."""
    language = city.languages[0]

    def say(key: str, **values: object) -> str:
        return message(language, key, **values)

    features = json.loads(collection)["features"]
    name = district["name"].get(language) or district["code"]
    title = say("report.title", city=city.name.get(language, ""), district=name)
    area = folium.GeoJson(
        {"type": "Feature", "geometry": district["geometry"], "properties": {}},
        style_function=lambda _: {"color": "#555", "weight": 2, "fill": False},
    )
    m = folium.Map(tiles=None, control_scale=True)
    m.default_js, m.default_css = [], []  # no CDN: Leaflet is inlined below
    if settings.basemap_url:
        folium.TileLayer(settings.basemap_url, attr=settings.basemap_attribution).add_to(m)
    area.add_to(m)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": part,
                 "properties": {"kind": say(f"plan.kind.{f['properties']['kind']}"),
                                "status": say(f"plan.status.{f['properties']['status']}"),
                                "a": f["properties"]["a"]["code"],
                                "color": KIND_COLORS[f["properties"]["kind"]]}}
                for f in features for part in _parts(f["geometry"])]},
            style_function=lambda f: {"color": f["properties"]["color"], "weight": 6},
            marker=folium.CircleMarker(radius=6, fill=True),
            tooltip=folium.GeoJsonTooltip(["kind", "status", "a"]),
        ).add_to(m)  # fmt: skip
    (south, west), (north, east) = area.get_bounds()
    m.fit_bounds([[float(south or 0), float(west or 0)], [float(north or 0), float(east or 0)]])
    root: Any = m.get_root()  # a branca Figure: header, html and script
    leaflet = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    leaflet_css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    root.header.add_child(folium.Element(
        f"<title>{html.escape(title)}</title><script>{leaflet}</script>"
        f"<style>{leaflet_css}{STYLE}</style>"
    ))  # fmt: skip
    rule_text = say("report.rules", buffer=f"{rules.buffer_m:g}", gap=rules.gap_days,
                    months=rules.moratorium_months)  # fmt: skip
    root.html.add_child(folium.Element(
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(rule_text)}</p>"
        f"<p>{_summary(features, city.currency, say)}</p></header>"
    ), index=0)  # fmt: skip
    table = _table(features, city.currency, say)
    root.html.add_child(folium.Element(f"<section>{table}</section>"))
    return str(root.render()).replace("<html>", f'<html lang="{html.escape(language)}">', 1)
