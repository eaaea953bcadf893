// The Leaflet map: base map (a setting), districts shaded by a measure, projects coloured by
// category and drawn by status, clusters when zoomed out, and the highlight of a click.
import { getJson, isAbort } from "./api.js";
import { count, h } from "./format.js";
import { name, t } from "./i18n.js";
import { filterParams, state } from "./state.js";

export const CLICK_ZOOM = 13; // from here on a click lists projects; below, it picks a district
const SHADES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6"];

let map, districtLayer, projectLayer, highlightLayer, catalogue, districts = [];

const PAD = 0.5; // how far past the city (a share of its size, each side) the map may be moved

export function createMap(config, layers, onClick) {
  catalogue = layers;
  const { bounds, attribution } = config.jurisdiction;
  map = L.map("map", { zoomSnap: 0.5, maxZoom: 19 });
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
  districtLayer = L.geoJSON(null, { style: districtStyle, interactive: false }).addTo(map);
  projectLayer = L.layerGroup().addTo(map);
  highlightLayer = L.layerGroup().addTo(map);
  addLegend();
  map.on("click", (event) => onClick(event.latlng, map.getZoom()));
  map.on("moveend", () => {
    const c = map.getCenter();
    Object.assign(state, { lat: c.lat.toFixed(5), lon: c.lng.toFixed(5), z: String(map.getZoom()) });
    document.dispatchEvent(new CustomEvent("allimi:viewchange"));
    refreshProjects();
    restyleDistricts();
  });
  return map;
}

function bboxOf(b) {
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi).toFixed(5);
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].join(",");
}

export function bboxParam() {
  return bboxOf(map.getBounds());
}

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

function layerEntry(id) {
  return catalogue.find((layer) => layer.id === id);
}

function categoryColor(code) {
  return layerEntry("projects").style.legend.find((e) => e.value === code)?.color || "#555";
}

// ---- districts ----------------------------------------------------------------------------

export async function refreshDistricts() {
  const params = filterParams();
  params.delete("q");
  const data = await getJson(`/api/layers/districts/features?${params}`, "districts");
  districts = data.features;
  districtLayer.clearLayers().addData(data);
  restyleDistricts();
}

function measureBreaks() {
  const key = state.measure || "projects";
  const values = districts.map((f) => f.properties[key]).sort((a, b) => a - b);
  return SHADES.slice(1).map((_, i) => values[Math.floor(((i + 1) * values.length) / SHADES.length)]);
}

function districtStyle(feature) {
  const zoomedIn = map && map.getZoom() >= CLICK_ZOOM;
  const breaks = measureBreaks();
  const value = feature.properties[state.measure || "projects"];
  const shade = SHADES[breaks.filter((b) => value >= b).length];
  return {
    color: "#3b4b63", weight: zoomedIn ? 1 : 1.5, opacity: 0.7,
    fillColor: shade, fillOpacity: zoomedIn ? 0 : 0.55,
  };
}

function restyleDistricts() {
  districtLayer.setStyle(districtStyle);
}

// The district under a point (ray casting over its rings), for clicks when zoomed out.
export function districtAt(latlng) {
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
  return districts.find((f) => {
    const polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    return polygons.some((rings) => inside(rings[0]) && !rings.slice(1).some(inside));
  });
}

export function zoomToDistrict(feature) {
  map.fitBounds(L.geoJSON(feature).getBounds(), { maxZoom: 14 });
}

// ---- projects -----------------------------------------------------------------------------

function projectStyle(props) {
  const symbol = layerEntry("projects").style.status_symbols[props.status];
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

function clusterMarker(feature) {
  const [lon, lat] = feature.geometry.coordinates;
  const n = feature.properties.count;
  const size = Math.round(26 + Math.min(Math.log10(n) * 10, 26));
  const color = categoryColor(feature.properties.category);
  const title = t("map.clusterTitle", { n: count(n) });
  const marker = L.marker([lat, lon], {
    title, alt: title, keyboard: true,
    icon: L.divIcon({
      className: "cluster",
      // an element, not HTML: a style attribute in HTML is refused by the page's policy
      html: h("span", { style: `border-color:${color}` }, count(n)),
      iconSize: [size, size],
    }),
  });
  marker.on("click", (event) => {
    L.DomEvent.stopPropagation(event);
    map.setView([lat, lon], Math.min(map.getZoom() + 2, 19));
  });
  return marker;
}

let projectsUrl = ""; // what is shown, or on its way

export async function refreshProjects() {
  const url = `/api/layers/projects/features?${filterParams({ bbox: tileAlignedBbox() })}`;
  if (url === projectsUrl) return;
  projectsUrl = url;
  try {
    const data = await getJson(url, "projects");
    projectLayer.clearLayers();
    for (const feature of data.features) projectLayer.addLayer(drawFeature(feature));
  } catch (error) {
    if (isAbort(error)) return;
    if (projectsUrl === url) projectsUrl = "";
    console.error(error);
  }
}

export function highlight(features, latlng = null) {
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

export function focusFeature(feature) {
  const bounds = L.geoJSON(feature).getBounds();
  if (!map.getBounds().contains(bounds)) map.fitBounds(bounds, { maxZoom: 17, padding: [40, 40] });
}

export function flyTo(lat, lon, zoom) {
  map.setView([lat, lon], zoom);
}

export function invalidate() {
  map.invalidateSize();
}

// ---- legend -------------------------------------------------------------------------------

function addLegend() {
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const box = h("details", { class: "legend", open: window.innerWidth > 700 });
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);
  renderLegend();
}

export function renderLegend() {
  const box = document.querySelector(".legend");
  if (!box) return;
  const projects = layerEntry("projects");
  const swatch = (style) => h("span", { class: "swatch", style, "aria-hidden": "true" });
  box.replaceChildren(
    h("summary", {}, t("legend.title")),
    h("ul", {}, projects.style.legend.map((e) => h("li", {}, swatch(`background:${e.color}`), name(e.label)))),
    h("ul", { class: "legend-status" },
      h("li", {}, swatch("border-top:3px dashed #444;height:0"), t("legend.planned")),
      h("li", {}, swatch("background:#444"), t("legend.active")),
      h("li", {}, swatch("background:#7b8794"), t("legend.suspended")),
      h("li", {}, swatch("background:#444;opacity:.4"), t("legend.done")),
      h("li", {}, swatch("background:#fff;border:3px solid #c81e1e;border-radius:50%"), t("legend.flagged"))),
  );
}
