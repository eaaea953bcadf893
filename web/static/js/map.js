// The Leaflet map as a component: base map (a setting), districts shaded by a measure, projects
// coloured by category and drawn by status, clusters when zoomed out, the highlight of a click,
// and the conflicts layer of the catalogue (works meeting in place and time) behind a switch in
// the legend. Each view creates its own with createMap; nothing here is shared between two maps.
import { getJson, isAbort } from "./api.js";
import { compact, count, h } from "./format.js";
import { name, t } from "./i18n.js";
import { filterParams } from "./state.js"; // of the state a map is given, not the page's

export const CLICK_ZOOM = 13; // from here on a click lists projects; below, it picks a district
const SHADES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6"];
const PAD = 0.5; // how far past the city (a share of its size, each side) the map may be moved

function bboxOf(b) {
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi).toFixed(5);
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].join(",");
}

// Whether a district's polygons hold a point (ray casting over their rings).
function covers(feature, latlng) {
  const inside = (ring) => {
    let hit = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > latlng.lat) !== (yj > latlng.lat)
          && latlng.lng < ((xj - xi) * (latlng.lat - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  };
  const { type, coordinates } = feature.geometry;
  const polygons = type === "Polygon" ? [coordinates] : coordinates;
  return polygons.some((rings) => inside(rings[0]) && !rings.slice(1).some(inside));
}

// A map in ``element`` over the city of ``config`` (/api/config) with the ``layers`` of
// /api/layers. ``state`` holds its view (lat, lon, z: read at the start, written as it moves),
// the measure the districts are shaded by and the filters of the features it shows.
// ``onClick(latlng, zoom)`` answers a click, ``onMove()`` follows each move. ``conflictLayer``
// false leaves the conflicts switch out (a view that draws conflicts of its own).
export function createMap(element, { config, layers, state, onClick, onMove = () => {}, conflictLayer = true }) {
  // this map's own kinds of request: a newer one aborts an older one of this map, not another's
  const kinds = { districts: Symbol("districts"), projects: Symbol("projects"), conflicts: Symbol("conflicts") };
  const projects = layers.find((layer) => layer.id === "projects").style;
  const conflicts = conflictLayer ? layers.find((layer) => layer.id === "conflicts") : null;
  let districts = [];
  let projectsUrl = ""; // what is shown, or on its way
  let conflictsUrl = "";
  let showConflicts = false; // the citizen's switch in the legend
  let legendBox = null;

  const map = L.map(element, { zoomSnap: 0.5, maxZoom: 19 });
  const { bounds, attribution } = config.jurisdiction;
  if (bounds) {
    const [west, south, east, north] = bounds;
    const city = L.latLngBounds([south, west], [north, east]);
    const around = city.pad(PAD);
    map.setMaxBounds(around);
    // out to where the city and some of its surroundings fit
    map.setMinZoom(Math.max(0, Math.floor(map.getBoundsZoom(around)) - 1));
    if (state.lat && state.lon && state.z) map.setView([+state.lat, +state.lon], +state.z);
    else map.fitBounds(city, { padding: [16, 16] });
  } else {
    map.setView([+state.lat || 0, +state.lon || 0], +state.z || 2); // a city with no districts yet
  }
  if (config.basemap.url) {
    L.tileLayer(config.basemap.url, { attribution: config.basemap.attribution, maxZoom: 19 })
      .addTo(map);
  }
  // the city's text, not HTML: Leaflet shows attributions as HTML
  if (attribution) map.attributionControl.addAttribution(h("span", {}, attribution).innerHTML);

  // The view widened to whole 256 px tiles of its zoom level. Nearby views and small pans then
  // ask the same question: the answer is fetched once, the server can serve it from what it
  // keeps, and clusters stay where they are.
  function tileAlignedBbox() {
    const z = Math.floor(map.getZoom());
    const b = map.getBounds();
    const nw = map.project(b.getNorthWest(), z).divideBy(256).floor().multiplyBy(256);
    const se = map.project(b.getSouthEast(), z).divideBy(256).ceil().multiplyBy(256);
    return bboxOf(L.latLngBounds(map.unproject(nw, z), map.unproject(se, z)));
  }

  function categoryColor(code) {
    return projects.legend.find((e) => e.value === code)?.color || "#555";
  }

  // ---- districts --------------------------------------------------------------------------

  function measureBreaks() {
    const key = state.measure || "projects";
    const values = districts.map((f) => f.properties[key]).sort((a, b) => a - b);
    return SHADES.slice(1).map((_, i) => values[Math.floor(((i + 1) * values.length) / SHADES.length)]);
  }

  function districtStyle(feature) {
    const zoomedIn = map.getZoom() >= CLICK_ZOOM;
    const breaks = measureBreaks();
    const value = feature.properties[state.measure || "projects"];
    const shade = SHADES[breaks.filter((b) => value >= b).length];
    return {
      color: "#3b4b63", weight: zoomedIn ? 1 : 1.5, opacity: 0.7,
      fillColor: shade, fillOpacity: zoomedIn ? 0 : 0.55,
    };
  }

  const districtLayer = L.geoJSON(null, { style: districtStyle, interactive: false }).addTo(map);
  const projectLayer = L.layerGroup().addTo(map);
  const conflictsLayer = L.layerGroup().addTo(map);
  const highlightLayer = L.layerGroup().addTo(map);

  function restyleDistricts() {
    districtLayer.setStyle(districtStyle);
  }

  async function refreshDistricts() {
    const params = filterParams(state);
    params.delete("q");
    const data = await getJson(`/api/layers/districts/features?${params}`, kinds.districts);
    districts = data.features;
    districtLayer.clearLayers().addData(data);
    restyleDistricts();
  }

  // The district under a point, for clicks when zoomed out.
  function districtAt(latlng) {
    return districts.find((feature) => covers(feature, latlng));
  }

  function zoomToDistrict(feature) {
    map.fitBounds(L.geoJSON(feature).getBounds(), { maxZoom: 14 });
  }

  // ---- projects ---------------------------------------------------------------------------

  function projectStyle(props) {
    const symbol = projects.status_symbols[props.status];
    const color = symbol === "grey" ? "#7b8794" : categoryColor(props.category);
    return {
      color, weight: 5, opacity: symbol === "faded" ? 0.45 : 0.95,
      dashArray: symbol === "dashed" ? "8 6" : null,
      fillColor: color, fillOpacity: symbol === "faded" ? 0.2 : 0.45,
    };
  }

  function drawFeature(feature) {
    const props = feature.properties;
    if (props.cluster) return clusterMarker(feature);
    return L.geoJSON(feature, {
      style: () => projectStyle(props),
      pointToLayer: (_, latlng) => L.circleMarker(latlng, {
        ...projectStyle(props), radius: 7, weight: props.flagged ? 3 : 2,
        color: props.flagged ? "#c81e1e" : "#ffffff", fillColor: projectStyle(props).color,
        fillOpacity: 0.9,
      }),
    });
  }

  function clusterMarker(feature, color = categoryColor(feature.properties.category), titleKey = "map.clusterTitle") {
    const [lon, lat] = feature.geometry.coordinates;
    const n = feature.properties.count;
    const size = Math.round(26 + Math.min(Math.log10(n) * 10, 26));
    const title = t(titleKey, { n: count(n) });
    const marker = L.marker([lat, lon], {
      title, alt: title, keyboard: true,
      icon: L.divIcon({
        className: "cluster",
        // an element, not HTML: a style attribute in HTML is refused by the page's policy
        html: h("span", { style: `border-color:${color}` }, compact(n)),
        iconSize: [size, size],
      }),
    });
    marker.on("click", (event) => {
      L.DomEvent.stopPropagation(event);
      map.setView([lat, lon], Math.min(map.getZoom() + 2, 19));
    });
    return marker;
  }

  async function refreshProjects() {
    const url = `/api/layers/projects/features?${filterParams(state, { bbox: tileAlignedBbox() })}`;
    if (url === projectsUrl) return;
    projectsUrl = url;
    try {
      const data = await getJson(url, kinds.projects);
      projectLayer.clearLayers();
      for (const feature of data.features) projectLayer.addLayer(drawFeature(feature));
    } catch (error) {
      if (isAbort(error)) return;
      if (projectsUrl === url) projectsUrl = "";
      console.error(error);
    }
  }

  // ---- conflicts (the catalogue's layer: where two works meet, coloured by kind) ----------

  function kindColor(kind) {
    return conflicts.style.legend.find((e) => e.value === kind)?.color || "#555";
  }

  // A conflict is a diamond the map's click passes through: a click there lists both works.
  function conflictMarker(feature) {
    const props = feature.properties;
    if (props.cluster) return clusterMarker(feature, kindColor(props.kind), "map.conflictClusterTitle");
    const [lon, lat] = feature.geometry.coordinates;
    return L.marker([lat, lon], {
      interactive: false, keyboard: false,
      icon: L.divIcon({
        className: "conflict-marker", iconSize: [16, 16],
        // an element, not HTML: a style attribute in HTML is refused by the page's policy
        html: h("span", { class: `cmark cmark-${props.status}`, style: `--kind:${kindColor(props.kind)}` }),
      }),
    });
  }

  function conflictsVisible() {
    return Boolean(conflicts && showConflicts && map.getZoom() >= conflicts.minzoom);
  }

  async function refreshConflicts() {
    if (!conflictsVisible()) {
      conflictsLayer.clearLayers();
      conflictsUrl = "";
      return;
    }
    const url = `${conflicts.links.features}?${filterParams(state, { bbox: tileAlignedBbox() })}`;
    if (url === conflictsUrl) return;
    conflictsUrl = url;
    try {
      const data = await getJson(url, kinds.conflicts);
      conflictsLayer.clearLayers();
      if (!conflictsVisible()) return;
      for (const feature of data.features) conflictsLayer.addLayer(conflictMarker(feature));
    } catch (error) {
      if (isAbort(error)) return;
      if (conflictsUrl === url) conflictsUrl = "";
      console.error(error);
    }
  }

  function highlight(features, latlng = null) {
    highlightLayer.clearLayers();
    if (latlng) {
      L.circleMarker(latlng, { radius: 6, color: "#111", weight: 2, fillColor: "#ffd200", fillOpacity: 1, interactive: false })
        .addTo(highlightLayer);
    }
    for (const feature of features) {
      L.geoJSON(feature, {
        interactive: false,
        style: { color: "#ffd200", weight: 10, opacity: 0.8, fillOpacity: 0.15 },
        pointToLayer: (_, ll) => L.circleMarker(ll, { radius: 12, color: "#ffd200", weight: 4, fillOpacity: 0 }),
      }).addTo(highlightLayer);
    }
  }

  function focusFeature(feature) {
    const featureBounds = L.geoJSON(feature).getBounds();
    if (!map.getBounds().contains(featureBounds)) map.fitBounds(featureBounds, { maxZoom: 17, padding: [40, 40] });
  }

  // ---- legend -----------------------------------------------------------------------------

  // The switch of the conflicts layer, its kinds and, zoomed out, why it shows nothing yet.
  let zoomHint = null;
  function conflictsSwitch(swatch) {
    if (!conflicts) return null;
    const kindList = h("ul", { class: "legend-conflicts", hidden: !showConflicts },
      conflicts.style.legend.map((e) => h("li", {},
        swatch(`background:${e.color};border-radius:1px;transform:rotate(45deg) scale(0.8)`), name(e.label))));
    zoomHint = h("p", { class: "legend-hint", hidden: !showConflicts || map.getZoom() >= conflicts.minzoom },
      t("map.zoomForConflicts"));
    const toggle = h("input", { type: "checkbox", checked: showConflicts, onchange: (e) => {
      showConflicts = e.currentTarget.checked;
      kindList.hidden = !showConflicts;
      followZoom();
      refreshConflicts();
    } });
    return h("div", { class: "legend-layer" },
      h("label", { class: "legend-toggle" }, toggle, name(conflicts.title)), kindList, zoomHint);
  }

  function followZoom() {
    if (zoomHint) zoomHint.hidden = !showConflicts || map.getZoom() >= conflicts.minzoom;
  }

  function renderLegend() {
    const swatch = (style) => h("span", { class: "swatch", style, "aria-hidden": "true" });
    legendBox.replaceChildren(
      h("summary", {}, t("legend.title")),
      conflictsSwitch(swatch),
      h("ul", {}, projects.legend.map((e) => h("li", {}, swatch(`background:${e.color}`), name(e.label)))),
      h("ul", { class: "legend-status" },
        h("li", {}, swatch("border-top:3px dashed #444;height:0"), t("legend.planned")),
        h("li", {}, swatch("background:#444"), t("legend.active")),
        h("li", {}, swatch("background:#7b8794"), t("legend.suspended")),
        h("li", {}, swatch("background:#444;opacity:.4"), t("legend.done")),
        h("li", {}, swatch("background:#fff;border:3px solid #c81e1e;border-radius:50%"), t("legend.flagged"))),
    );
  }

  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    legendBox = h("details", { class: "legend", open: window.innerWidth > 700 });
    L.DomEvent.disableClickPropagation(legendBox);
    return legendBox;
  };
  legend.addTo(map);
  renderLegend();

  map.on("click", (event) => onClick(event.latlng, map.getZoom()));
  map.on("moveend", () => {
    const c = map.getCenter();
    Object.assign(state, { lat: c.lat.toFixed(5), lon: c.lng.toFixed(5), z: String(map.getZoom()) });
    onMove();
    refreshProjects();
    refreshConflicts();
    followZoom();
    restyleDistricts();
  });

  return {
    refreshDistricts,
    // the works, and the conflicts when their switch is on (both follow the filters)
    refreshProjects: () => Promise.all([refreshProjects(), refreshConflicts()]),
    districtAt,
    zoomToDistrict,
    highlight,
    focusFeature,
    renderLegend,
    bboxParam: () => bboxOf(map.getBounds()),
    flyTo: (lat, lon, zoom) => map.setView([lat, lon], zoom),
    invalidate: () => map.invalidateSize(),
    leaflet: map, // for a view's own tools on this map (the editor's drawing)
  };
}
