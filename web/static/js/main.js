// Allimi's web map: wires the map, the panel, the list view, search, filters and the URL.
import { getJson } from "./api.js";
import { count, h, setTimeZone } from "./format.js";
import { apply as applyLanguage, label, languages, lang, name, setup as setupLanguage, t } from "./i18n.js";
import * as listView from "./listview.js";
import { CLICK_ZOOM, createMap } from "./map.js";
import * as panel from "./panel.js";
import { readUrl, state, writeUrl } from "./state.js";
import * as subscribe from "./subscribe.js";

let config, layers, colors;
let map; // the public map: createMap's, over the page's state
let lastList = null; // what "back" returns to from a disclosure

async function openProject(code, { back = lastList, fit = true } = {}) {
  try {
    const feature = await getJson(`/api/projects/${encodeURIComponent(code)}`, "project");
    state.project = code;
    writeUrl();
    map.highlight([feature]);
    if (fit && state.view !== "list") map.focusFeature(feature);
    panel.showProject(feature, colors, back ? () => back() : null);
  } catch (error) {
    if (error.status === 404) panel.showMessage(t("project.notFound"));
  }
}

async function clickAt(latlng, zoom) {
  if (zoom < CLICK_ZOOM) {
    const district = map.districtAt(latlng);
    if (district) {
      map.zoomToDistrict(district);
      panel.showDistrict(district, () => listDistrict(district));
      return;
    }
  }
  const params = new URLSearchParams({ lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6), zoom });
  const data = await getJson(`/api/projects/at?${params}`, "at");
  map.highlight(data.features, latlng);
  const show = () => {
    state.project = null;
    writeUrl();
    map.highlight(data.features, latlng);
    panel.showList(t("panel.here", { n: data.features.length }), data.features, colors, (code) => openProject(code, { back: show, fit: false }));
  };
  lastList = show;
  show();
}

async function search(q) {
  state.q = q || null;
  writeUrl();
  refreshAll();
  if (!q) return panel.showIntro();
  const data = await getJson(`/api/projects?${new URLSearchParams({ q, limit: 30, sort: "-updated" })}`, "search");
  const show = () => {
    const heading = data.numberMatched === undefined ? t("search.resultsMany", { q })
      : data.numberMatched ? t("search.results", { q, n: count(data.numberMatched) }) : t("search.none", { q });
    panel.showList(heading,
      data.features, colors, (code) => openProject(code, { back: show }));
  };
  lastList = show;
  show();
}

function listDistrict(district) {
  map.zoomToDistrict(district);
  setView("list");
}

function refreshAll() {
  map.refreshProjects();
  map.refreshDistricts();
  if (state.view === "list") listView.load(map.bboxParam(), config, openProject);
}

function setView(view) {
  state.view = view === "list" ? "list" : null;
  writeUrl();
  const list = state.view === "list";
  document.getElementById("list-view").hidden = !list;
  document.getElementById("map").hidden = list;
  const toggle = document.getElementById("toggle-view");
  toggle.setAttribute("aria-pressed", String(list));
  toggle.textContent = t(list ? "tools.map" : "tools.list");
  if (list) {
    listView.renderHead(() => setView("list"));
    listView.load(map.bboxParam(), config, openProject);
  } else {
    map.invalidate();
  }
}

// The map has moved: the URL and the list view follow it.
function viewMoved() {
  writeUrl();
  if (state.view === "list") listView.load(map.bboxParam(), config, openProject);
}

// ---- filters ------------------------------------------------------------------------------

function buildFilters() {
  const chosen = new Set((state.category || "").split(",").filter(Boolean));
  document.getElementById("category-options").replaceChildren(...Object.entries(config.categories).map(([code, term]) =>
    h("label", { class: "chip-option" },
      h("input", { type: "checkbox", name: "category", value: code, checked: chosen.has(code) }),
      h("span", { class: "dot", style: `background:${colors[code]}`, "aria-hidden": "true" }),
      label(term))));
  const options = (select, blank, entries, current) => {
    select.replaceChildren(h("option", { value: "" }, blank),
      ...entries.map(([value, text]) => h("option", { value, selected: value === current }, text)));
  };
  options(document.getElementById("status"), t("filters.anyStatus"),
    Object.entries(config.statuses).map(([code, term]) => [code, label(term)]), state.status);
  options(document.getElementById("agency"), t("filters.anyAgency"),
    config.agencies.map((a) => [a.code, name(a.name)]), state.agency);
  const measures = layers.find((l) => l.id === "districts").style.measures;
  const measure = document.getElementById("measure");
  measure.replaceChildren(...Object.entries(measures).map(([key, term]) =>
    h("option", { value: key, selected: key === (state.measure || "projects") }, name(term))));
  document.getElementById("active-on").value = state.active_on || "";
  document.getElementById("flagged").checked = state.flagged === "true";
}

function readFilters() {
  const form = document.getElementById("filters");
  const cats = [...form.querySelectorAll("input[name=category]:checked")].map((i) => i.value);
  Object.assign(state, {
    category: cats.join(",") || null,
    status: form.status.value || null,
    agency: form.agency.value || null,
    active_on: form.active_on.value || null,
    flagged: form.flagged.checked ? "true" : null,
    measure: form.measure.value === "projects" ? null : form.measure.value,
  });
  writeUrl();
  refreshAll();
}

// ---- start --------------------------------------------------------------------------------

async function nearMe() {
  if (!navigator.geolocation) return panel.showMessage(t("near.unsupported"));
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      map.flyTo(pos.coords.latitude, pos.coords.longitude, 16);
      clickAt({ lat: pos.coords.latitude, lng: pos.coords.longitude }, 16);
    },
    () => panel.showMessage(t("near.denied")),
    { timeout: 10000 },
  );
}

// The language switch: each of the city's languages in its own words.
function buildLanguages() {
  const select = document.getElementById("lang");
  select.replaceChildren(...languages().map((l) =>
    h("option", { value: l.code, lang: l.code, selected: l.code === lang }, l.name)));
  select.closest(".lang-switch").hidden = languages().length < 2;
}

function switchLanguage(code) {
  applyLanguage(code, config.jurisdiction, true);
  state.lang = code;
  writeUrl();
  buildLanguages();
  buildFilters();
  map.renderLegend();
  if (state.view === "list") setView("list");
  if (state.project) openProject(state.project, { fit: false });
  else panel.showIntro();
}

async function start() {
  readUrl();
  [config, { layers }] = await Promise.all([getJson("/api/config"), getJson("/api/layers")]);
  await setupLanguage(config.jurisdiction, state.lang);
  if (state.lang) state.lang = lang; // a language the city does not offer is not carried on
  buildLanguages();
  colors = Object.fromEntries(layers.find((l) => l.id === "projects").style.legend.map((e) => [e.value, e.color]));
  setTimeZone(config.jurisdiction.timezone);
  panel.setConfig(config);
  document.getElementById("sample-banner").hidden = !config.sample_data;
  document.getElementById("q").value = state.q || "";
  buildFilters();
  map = createMap(document.getElementById("map"), { config, layers, state, onClick: clickAt, onMove: viewMoved });
  panel.showIntro();
  await map.refreshDistricts();
  map.refreshProjects();

  document.getElementById("search").addEventListener("submit", (e) => {
    e.preventDefault();
    search(document.getElementById("q").value.trim());
  });
  const filters = document.getElementById("filters");
  filters.addEventListener("change", readFilters);
  filters.addEventListener("reset", () => setTimeout(readFilters));
  document.getElementById("toggle-filters").addEventListener("click", (e) => {
    filters.hidden = !filters.hidden;
    e.currentTarget.setAttribute("aria-expanded", String(!filters.hidden));
    map.invalidate();
  });
  document.getElementById("toggle-view").addEventListener("click", () => setView(state.view === "list" ? null : "list"));
  document.getElementById("list-more").addEventListener("click", () => listView.load(map.bboxParam(), config, openProject, true));
  document.getElementById("near-me").addEventListener("click", nearMe);
  subscribe.setup(document.getElementById("subscribe"), map.leaflet, config, state);
  document.getElementById("lang").addEventListener("change", (e) => switchLanguage(e.currentTarget.value));
  document.addEventListener("allimi:close", () => {
    state.project = null;
    writeUrl();
    map.highlight([]);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") document.dispatchEvent(new CustomEvent("allimi:close"));
  });

  if (state.view === "list") setView("list");
  if (state.project) openProject(state.project, { fit: !(state.lat && state.lon) });
  else if (state.q) search(state.q);
  document.body.dataset.ready = "true";
}

start();
