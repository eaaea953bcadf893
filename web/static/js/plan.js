// The planners' view (/plan): signs in as the editor does (session.js), then composes the map
// component (map.js: districts and the works for context) with the conflicts of the view drawn
// on top, where the two works meet, coloured by kind and drawn by status; a table of the same
// conflicts that follows the map and the filters; the selected conflict's works, zone and
// workflow (POST /api/conflicts/{id}/steps, the problem's errors beside their fields); and the
// timeline of its street or of a drawn area (timeline.js: GET /api/projects/{code}/timeline,
// GET /api/timeline?bbox=). Every text is built with h(): data is
// never parsed as HTML.
import { getJson, isAbort } from "./api.js";
import { count, date, h, money, setTimeZone } from "./format.js";
import { apply as applyLanguage, label, lang, name, setup as setupLanguage, t } from "./i18n.js";
import { createMap } from "./map.js";
import { call, fileUrl, forget, signedIn, signInForm, signOut } from "./session.js";
import { createTimeline } from "./timeline.js";

const READERS = ["planner", "official", "admin"]; // who reads the list (geo.conflicts.READERS)
const KINDS = ["clash", "dig_once", "moratorium"];
const STATUSES = ["open", "acknowledged", "coordinated", "dismissed"];
const SHOWN_FIRST = ["open", "acknowledged", "coordinated"]; // a dismissal is out of the way
// The workflow (geo.conflicts.TRANSITIONS): where each status may go
const NEXT = { open: ["acknowledged"], acknowledged: ["coordinated", "dismissed"], dismissed: ["open"], coordinated: [] };
const PAGE = 200;
const HALO = "#ffd200";
const PICK_PX = 14; // a click this close to a conflict's marker picks it

const $ = (id) => document.getElementById(id);
let config, layers, me, map, timeline, renderer;
let kindColour = {};
let districts = [];
const filters = { kinds: new Set(KINDS), statuses: new Set(SHOWN_FIRST), from: "", to: "" };
const mapState = {}; // the map's view (lat, lon, z), read from and written to the address
let shown = []; // the features listed, in the API's order
let matched = 0; // null: more than the API counts
let moreToRead = false; // the last page was full
let selected = null; // the selected conflict's feature
let loading = 0; // the latest list request (an older answer is dropped)
const conflictLayer = L.featureGroup();
const areaLayer = L.featureGroup(); // the area drawn for a timeline
let drawing = null; // the box being drawn: {cancel}

// ---- the address --------------------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(location.search);
  const list = (key, all) => (params.has(key) ? params.get(key).split(",").filter((v) => all.includes(v)) : null);
  filters.kinds = new Set(list("kind", KINDS) ?? KINDS);
  filters.statuses = new Set(list("status", STATUSES) ?? SHOWN_FIRST);
  filters.from = params.get("from") || "";
  filters.to = params.get("to") || "";
  for (const key of ["lat", "lon", "z"]) mapState[key] = params.get(key);
  return { conflict: Number(params.get("conflict")) || null, lang: params.get("lang") };
}

function writeAddress() {
  const params = new URLSearchParams();
  const langParam = new URLSearchParams(location.search).get("lang");
  if (langParam) params.set("lang", langParam);
  for (const key of ["lat", "lon", "z"]) if (mapState[key]) params.set(key, mapState[key]);
  for (const [key, value] of filterParams()) params.set(key, value);
  // an address without statuses opens on the default ones (the dismissed left out)
  if (filters.statuses.size === STATUSES.length) params.set("status", STATUSES.join(","));
  if (selected) params.set("conflict", selected.properties.id);
  history.replaceState(null, "", `?${params}`);
}

// The filters as the API's parameters (none for every kind, or every status).
function filterParams() {
  const params = new URLSearchParams();
  if (filters.kinds.size < KINDS.length) params.set("kind", [...filters.kinds].join(","));
  if (filters.statuses.size < STATUSES.length) params.set("status", [...filters.statuses].join(","));
  if (filters.from) params.set("from", filters.from);
  if (filters.to) params.set("to", filters.to);
  return params;
}

// ---- sign-in ------------------------------------------------------------------------------

const signInPage = signInForm(["plan-work", "who", "sign-out", "not-a-reader"], () => enter(), t);
const showSignIn = signInPage.show;
const submitSignIn = signInPage.submit;

function signedOut() {
  forget();
  showSignIn(t("editor.signedOut"));
}

async function enter() {
  me = await signInPage.account();
  if (!me) return;
  if (!READERS.includes(me.role)) {
    $("not-a-reader").hidden = false;
    $("not-a-reader").textContent = t("plan.notAReader");
    return;
  }
  $("plan-work").hidden = false;
  if (!map) startMap();
  else map.invalidate();
  await loadList();
}

// ---- the map ------------------------------------------------------------------------------

function startMap() {
  map = createMap($("plan-map"), { config, layers, state: mapState, onClick: clickAt, onMove: moved, conflictLayer: false });
  const leaflet = map.leaflet;
  leaflet.createPane("conflicts").style.zIndex = 450; // over the works, under the markers' pane
  renderer = L.svg({ pane: "conflicts", padding: 0.5 });
  conflictLayer.addTo(leaflet);
  areaLayer.addTo(leaflet);
  const area = L.control({ position: "topright" });
  area.onAdd = () => {
    const box = h("div", { class: "leaflet-bar area-control" }, $("area-timeline"));
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  area.addTo(leaflet);
  // the works' legend folded: the conflicts' kinds and statuses are the filters' own
  const legend = $("plan-map").querySelector(".legend");
  if (legend) legend.open = false;
  map.refreshDistricts().then(() => map.refreshProjects());
}

let moveTimer = null;
function moved() {
  writeAddress();
  clearTimeout(moveTimer);
  moveTimer = setTimeout(() => loadList(), 250);
}

// The lines of a geometry (its parts that are lines), each a list of [lon, lat].
function linesOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "GeometryCollection") return geometry.geometries.flatMap(linesOf);
  if (geometry.type === "LineString") return [geometry.coordinates];
  if (geometry.type === "MultiLineString") return geometry.coordinates;
  return [];
}

// Where a conflict's marker stands: halfway along the longest line where the works meet, else
// the point (or the middle of the area) where they meet.
function anchor(geometry) {
  const length = (line) => line.slice(1).reduce((sum, [x, y], i) => sum + Math.hypot(x - line[i][0], y - line[i][1]), 0);
  const longest = linesOf(geometry).sort((a, b) => length(b) - length(a))[0];
  if (longest && longest.length > 1) {
    let left = length(longest) / 2;
    for (let i = 1; i < longest.length; i++) {
      const [x0, y0] = longest[i - 1];
      const [x1, y1] = longest[i];
      const step = Math.hypot(x1 - x0, y1 - y0);
      if (step >= left && step > 0) return L.latLng(y0 + ((y1 - y0) * left) / step, x0 + ((x1 - x0) * left) / step);
      left -= step;
    }
  }
  if (geometry?.type === "Point") return L.latLng(geometry.coordinates[1], geometry.coordinates[0]);
  return L.geoJSON(geometry).getBounds().getCenter();
}

// A conflict's marker: a diamond (the works are dots) in its kind's colour, drawn by its status
// (plan.css: open filled, acknowledged hollow, coordinated faded, dismissed grey).
function conflictIcon(p, chosen) {
  const size = chosen ? 24 : 18;
  return L.divIcon({
    className: "conflict-marker",
    // an element, not HTML (the page's policy refuses a style attribute in HTML)
    html: h("span", { class: `cmark cmark-${p.status}${chosen ? " cmark-chosen" : ""}`, style: `--kind:${kindColour[p.kind]}` }),
    iconSize: [size, size],
  });
}

function placeStyle(p) {
  const colour = p.status === "dismissed" ? "#9aa5b1" : kindColour[p.kind];
  return {
    pane: "conflicts", renderer, color: colour, weight: 6, lineCap: "round",
    opacity: p.status === "coordinated" ? 0.45 : 0.9, dashArray: p.status === "acknowledged" ? "8 7" : null,
    fillColor: colour, fillOpacity: 0.3,
  };
}

function pairText(p) {
  return `${p.a.title} ↔ ${p.b ? p.b.title : zoneName(p)}`;
}

function drawConflicts() {
  conflictLayer.clearLayers();
  const chosen = selected?.properties.id;
  const ordered = [...shown.filter((f) => f.properties.id !== chosen), ...(selected ? [selected] : [])];
  for (const feature of ordered) {
    const p = feature.properties;
    const isChosen = p.id === chosen;
    const pick = (event) => {
      L.DomEvent.stopPropagation(event);
      select(p.id, { zoom: false });
    };
    if (isChosen) {
      L.geoJSON(feature.geometry, {
        style: { pane: "conflicts", renderer, color: HALO, weight: 16, opacity: 0.9, fillOpacity: 0.2 },
        pointToLayer: (_, at) => L.circleMarker(at, { pane: "conflicts", renderer, radius: 14, color: HALO, weight: 6, fillOpacity: 0 }),
        interactive: false,
      }).addTo(conflictLayer);
    }
    if (feature.geometry && feature.geometry.type !== "Point") {
      L.geoJSON(feature.geometry, {
        style: placeStyle(p), pointToLayer: (_, at) => L.circleMarker(at, { ...placeStyle(p), radius: 4 }),
      })
        .on("click", pick).addTo(conflictLayer);
    }
    const marker = L.marker(anchor(feature.geometry), {
      icon: conflictIcon(p, isChosen), keyboard: false, zIndexOffset: isChosen ? 1000 : 0,
      title: `${t(`plan.kind.${p.kind}`)} · ${pairText(p)}`,
    }).on("click", pick);
    marker.conflict = p.id;
    marker.addTo(conflictLayer);
  }
}

// A click beside a marker (within PICK_PX) picks the nearest conflict.
function clickAt(latlng) {
  if (drawing) return;
  const leaflet = map.leaflet;
  const at = leaflet.latLngToContainerPoint(latlng);
  let best = null;
  conflictLayer.eachLayer((layer) => {
    if (layer.conflict === undefined) return;
    const d = leaflet.latLngToContainerPoint(layer.getLatLng()).distanceTo(at);
    if (d <= PICK_PX && (!best || d < best.d)) best = { d, id: layer.conflict };
  });
  if (best) select(best.id, { zoom: false });
}

// ---- the list -----------------------------------------------------------------------------

function zoneName(p) {
  if (!p.zone) return "";
  if (p.zone.reason) return t("plan.zoneDrawn", { reason: p.zone.reason });
  return t("plan.zoneOf", { code: p.zone.project });
}

function kindChip(kind, long = false) {
  return h("span", { class: "kind-chip" },
    h("span", { class: "dot", style: `background:${kindColour[kind]}`, "aria-hidden": "true" }),
    t(long ? `conflict.${kind}` : `plan.kind.${kind}`));
}

function statusChip(status) {
  return h("span", { class: `chip cstatus cstatus-${status}` }, t(`plan.status.${status}`));
}

function metres(value) {
  return t("panel.distance", { m: count(Math.round(Number(value))) });
}

function daysText(p) {
  if (p.kind === "dig_once") return t("conflict.gapDays", { n: count(p.gap_days) });
  return t("conflict.overlapDays", { n: count(p.overlap_days) });
}

async function loadList({ more = false } = {}) {
  if (!map) return;
  if (!filters.kinds.size || !filters.statuses.size) {
    shown = [];
    matched = 0;
    moreToRead = false;
    return renderList();
  }
  const params = filterParams();
  params.set("bbox", map.bboxParam());
  params.set("limit", PAGE);
  params.set("offset", more ? shown.length : 0);
  const mine = ++loading;
  const answer = await call("GET", `/api/conflicts?${params}`);
  if (mine !== loading) return;
  if (answer.status === 401) return signedOut();
  const error = $("filter-error");
  if (!answer.ok) {
    const problem = answer.body || {};
    error.hidden = false;
    error.textContent = (problem.errors || []).map((e) => `${fieldName(e.parameter)}: ${e.reason}`).join("; ")
      || problem.detail || t("plan.failed");
    return;
  }
  error.hidden = true;
  shown = more ? [...shown, ...answer.body.features] : answer.body.features;
  matched = answer.body.numberMatched ?? null;
  moreToRead = answer.body.numberReturned >= PAGE;
  if (selected) {
    // the selected conflict as it is now (a step elsewhere moves it on)
    const fresh = shown.find((f) => f.properties.id === selected.properties.id);
    if (fresh) selected = fresh;
  }
  renderList();
}

function fieldName(parameter) {
  return { from: t("plan.from"), to: t("plan.to"), kind: t("plan.kind"), status: t("plan.status") }[parameter] || parameter;
}

function renderList() {
  const chosen = selected?.properties.id;
  const rows = shown.map((f) => {
    const p = f.properties;
    const other = p.b ? p.b : null;
    return h("tr", {
      class: p.id === chosen ? "selected" : null, "aria-current": p.id === chosen ? "true" : null,
      "data-id": p.id, onclick: () => select(p.id, { zoom: true }),
    },
    h("td", {}, kindChip(p.kind)),
    h("td", {},
      h("button", { type: "button", class: "link pair-link", title: [p.a.code, other?.code].filter(Boolean).join(" · ") },
        h("span", { class: "pair-a" }, p.a.title),
        h("span", { class: "pair-b" }, "↔ ", other ? other.title : zoneName(p)))),
    h("td", { class: "num" }, h("span", { class: "apart" }, metres(p.distance_m)), h("span", { class: "days" }, daysText(p))),
    h("td", {}, statusChip(p.status), p.holds ? null : h("span", { class: "gone muted" }, t("plan.noLongerHolds"))));
  });
  const body = $("conflict-table").tBodies[0];
  body.replaceChildren(...rows);
  if (!rows.length) {
    body.append(h("tr", {}, h("td", { colspan: 4, class: "muted empty" },
      filters.kinds.size && filters.statuses.size ? t("plan.none") : t("plan.chooseKind"))));
  }
  $("list-count").textContent = matched === null
    ? t("plan.countMany", { shown: count(shown.length) })
    : t("plan.count", { shown: count(shown.length), n: count(matched) });
  $("list-more").hidden = matched === null ? !moreToRead : shown.length >= matched;
  drawConflicts();
}

// ---- the filters --------------------------------------------------------------------------

function buildFilters() {
  $("kind-options").replaceChildren(...KINDS.map((kind) => h("label", { class: "chip-option" },
    h("input", { type: "checkbox", name: "kind", value: kind, checked: filters.kinds.has(kind) }),
    h("span", { class: "dot", style: `background:${kindColour[kind]}`, "aria-hidden": "true" }),
    h("span", { title: t(`conflict.${kind}`) }, t(`plan.kind.${kind}`)))));
  $("status-options").replaceChildren(...STATUSES.map((status) => h("label", { class: "chip-option" },
    h("input", { type: "checkbox", name: "status", value: status, checked: filters.statuses.has(status) }),
    h("span", { class: `sym sym-${status}`, "aria-hidden": "true" }),
    t(`plan.status.${status}`))));
  $("plan-from").value = filters.from;
  $("plan-to").value = filters.to;
}

function readFilters() {
  const form = $("plan-filters");
  const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  filters.kinds = new Set(checked("kind"));
  filters.statuses = new Set(checked("status"));
  filters.from = $("plan-from").value;
  filters.to = $("plan-to").value;
  writeAddress();
  loadList();
}

function resetFilters() {
  Object.assign(filters, { kinds: new Set(KINDS), statuses: new Set(SHOWN_FIRST), from: "", to: "" });
  buildFilters();
  writeAddress();
  loadList();
}

// ---- the selected conflict ----------------------------------------------------------------

function select(id, { zoom }) {
  const feature = shown.find((f) => f.properties.id === id) || (selected?.properties.id === id ? selected : null);
  if (!feature) return;
  selected = feature;
  writeAddress();
  renderList();
  if (zoom) {
    const bounds = L.geoJSON(feature.geometry).getBounds();
    map.leaflet.fitBounds(bounds, { maxZoom: 17, padding: [60, 60] });
  }
  showDetail(feature);
  showWorks(feature);
  conflictTimeline(feature);
  const district = feature.properties.a.district;
  if (district && districts.some((d) => d.code === district)) $("report-district").value = district;
}

// Both works drawn with the map's highlight (their whole shapes, under the meeting place).
async function showWorks(feature) {
  const p = feature.properties;
  const codes = [p.a.code, p.b?.code].filter(Boolean);
  try {
    const works = await Promise.all(codes.map((code) => getJson(`/api/projects/${encodeURIComponent(code)}`)));
    if (selected?.properties.id === p.id) map.highlight(works);
  } catch (error) {
    if (!isAbort(error)) map.highlight([]);
  }
}

function backToList() {
  $("conflict-detail").hidden = true;
  $("conflict-list").hidden = false;
  const row = $("conflict-table").querySelector("tr.selected");
  if (row) {
    row.scrollIntoView({ block: "nearest" });
    row.querySelector("button")?.focus();
  } else {
    $("side-title").focus?.();
  }
}

function agencyName(code) {
  const agency = config.agencies.find((a) => a.code === code);
  return agency ? name(agency.name) : code;
}

function row(term, value) {
  return [h("dt", {}, term), h("dd", {}, value ?? "–")];
}

function workCard(work, role) {
  const category = config.categories[work.category];
  return h("div", { class: `work-card work-${role}` },
    h("p", { class: "work-title" },
      h("a", { href: `/?project=${encodeURIComponent(work.code)}&lang=${lang}`, target: "_blank", rel: "noopener" }, work.title)),
    h("p", { class: "item-meta" },
      h("span", { class: "chip" }, h("span", { class: "dot", style: `background:${category?.color || "#555"}`, "aria-hidden": "true" }), label(category) || work.category),
      h("span", { class: `chip status status-${work.status}` }, label(config.statuses[work.status]) || work.status)),
    h("dl", {},
      row(t("project.code"), work.code),
      row(t("project.agency"), agencyName(work.agency)),
      row(t("plan.period"), `${date(work.start)} – ${date(work.end)}`)),
    h("button", { type: "button", class: "small", onclick: () => workTimeline(work.code, work.title) }, t("plan.streetTimeline")));
}

function zoneCard(p) {
  const z = p.zone;
  const what = z.reason ? t("plan.zoneDrawn", { reason: z.reason }) : t("plan.zoneAfter", { title: p.b?.title || z.project });
  return h("div", { class: "work-card zone-card" },
    h("p", { class: "work-title" }, h("span", { class: "zone-swatch", "aria-hidden": "true" }), what),
    h("dl", {}, row(t("plan.protected"), `${date(z.start)} – ${date(z.end)}`)));
}

function summary(p) {
  const values = { distance: metres(p.distance_m), n: count(p.overlap_days), gap: count(p.gap_days) };
  // works that touch say so, not "within 0 m"
  return t(Number(p.distance_m) < 0.5 ? `plan.summary.touch.${p.kind}` : `plan.summary.${p.kind}`, values);
}

// The conflict's works, zone, record and next step; ``said`` is what the last step did.
function showDetail(feature, said = null) {
  const p = feature.properties;
  const detail = $("conflict-detail");
  detail.replaceChildren(...[
    h("button", { type: "button", class: "back", onclick: backToList }, "← ", t("plan.back")),
    h("h2", { id: "detail-title", tabindex: "-1" }, kindChip(p.kind, true)),
    h("p", { class: "item-meta" }, statusChip(p.status),
      p.holds ? null : h("span", { class: "chip" }, t("plan.noLongerHolds"))),
    h("p", { id: "detail-status", class: "form-status ok", role: "status" }, said || ""),
    h("p", { class: "summary" }, summary(p)),
    h("h3", {}, t("plan.works")),
    workCard(p.a, "a"),
    p.b ? workCard(p.b, "b") : null,
    p.zone ? zoneCard(p) : null,
    p.status === "coordinated" ? h("p", { class: "saved" }, t("plan.savedText", {
      days: count(p.days_saved), money: money(p.money_saved, config.jurisdiction.currency),
    })) : null,
    p.note ? h("div", { class: "note-box" }, h("strong", {}, t("plan.note")), " ", p.note) : null,
    h("p", { class: "muted small-print" }, t("plan.foundOn", { found: date(p.found_at), updated: date(p.updated_at) })),
    stepForm(feature),
  ].filter(Boolean));
  $("conflict-list").hidden = true;
  detail.hidden = false;
  $("detail-title").focus();
}

// ---- the workflow -------------------------------------------------------------------------

function mayAct(p) {
  if (me.role === "planner") return true;
  return me.role === "official" && [p.a.agency, p.b?.agency].includes(me.agency);
}

function stepForm(feature) {
  const p = feature.properties;
  const next = NEXT[p.status];
  const box = h("section", { class: "step", "aria-labelledby": "step-title" }, h("h3", { id: "step-title" }, t("plan.nextStep")));
  if (!next.length) {
    box.append(h("p", { class: "muted" }, t("plan.final")));
    return box;
  }
  if (!mayAct(p)) {
    box.append(h("p", { class: "muted" }, t(me.role === "admin" ? "plan.adminReads" : "plan.otherAgency")));
    return box;
  }
  let chosen = next[0];
  const controls = {};
  const errors = {};
  const field = (key, control, hint = null) => {
    const id = `step-${key}`;
    controls[key] = control;
    control.id = id;
    control.setAttribute("aria-describedby", `${id}-error${hint ? ` ${id}-hint` : ""}`);
    errors[key] = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
    return h("div", { class: "field" }, h("label", { for: id }, t(`plan.field.${key}`)), control,
      hint ? h("p", { id: `${id}-hint`, class: "field-hint" }, hint) : null, errors[key]);
  };
  const status = h("p", { id: "step-status", class: "form-status", role: "status", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "primary" });
  const saved = h("div", { class: "saved-fields" },
    field("days_saved", h("input", { type: "text", inputmode: "numeric", autocomplete: "off" }), t("plan.hint.days")),
    field("money_saved", h("input", { type: "text", inputmode: "decimal", autocomplete: "off" }),
      t("plan.hint.money", { currency: config.jurisdiction.currency })));
  const choices = next.length > 1
    ? h("fieldset", { class: "next-choices" }, h("legend", {}, t("plan.choose")),
      next.map((to) => h("label", { class: "choice-option" },
        h("input", { type: "radio", name: "next-status", value: to, checked: to === chosen,
          onchange: () => { chosen = to; follow(); } }),
        t(`plan.next.${to}`))))
    : h("p", { class: "field-hint" }, t(`plan.explain.${chosen}`));
  const note = field("note", h("textarea", { rows: 3, maxlength: 2000 }));
  errors.status = h("p", { id: "step-status-error", class: "field-error", hidden: true });
  function follow() {
    saved.hidden = chosen !== "coordinated";
    submit.textContent = t(`plan.do.${chosen}`);
    const needsNote = chosen === "coordinated" || chosen === "dismissed";
    note.querySelector("label").textContent = t(needsNote ? "plan.field.noteNeeded" : "plan.field.note");
  }
  const form = h("form", { class: "step-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    takeStep(feature, chosen, controls, errors, status);
  } }, choices, errors.status, note, saved, status, h("div", { class: "form-actions" }, submit));
  follow();
  box.append(form);
  return box;
}

// A number as typed: a whole number of days (JSON's number), an amount as its text (exact).
function typed(value, whole) {
  const text = value.trim().replace(/[,\s]/g, "");
  if (!text) return undefined;
  if (whole && /^\d+$/.test(text)) return Number(text);
  return whole ? value.trim() : text;
}

async function takeStep(feature, to, controls, errors, status) {
  const p = feature.properties;
  for (const [key, box] of Object.entries(errors)) {
    box.hidden = true;
    box.textContent = "";
    controls[key]?.removeAttribute("aria-invalid");
  }
  const body = { status: to, note: controls.note.value.trim() || undefined };
  if (to === "coordinated") {
    body.days_saved = typed(controls.days_saved.value, true);
    body.money_saved = typed(controls.money_saved.value, false);
  }
  status.className = "form-status";
  status.textContent = t("plan.saving");
  const answer = await call("POST", `/api/conflicts/${p.id}/steps`, { json: body });
  if (answer.status === 401) return signedOut();
  if (!answer.ok) {
    const problem = answer.body || {};
    const unplaced = [];
    let first = null;
    for (const { parameter, reason } of problem.errors || []) {
      if (!errors[parameter]) {
        unplaced.push(`${parameter}: ${reason}`);
        continue;
      }
      errors[parameter].hidden = false;
      errors[parameter].textContent = errors[parameter].textContent ? `${errors[parameter].textContent}; ${reason}` : reason;
      controls[parameter]?.setAttribute("aria-invalid", "true");
      first = first || controls[parameter] || errors[parameter];
    }
    const key = { 403: "plan.forbidden", 404: "plan.gone", 409: "plan.moved" }[answer.status];
    status.className = "form-status bad";
    status.textContent = [key ? t(key) : t("plan.notRecorded"), ...unplaced].join(" ");
    (first?.focus ? first : status).focus();
    if (answer.status === 409 || answer.status === 404) loadList();
    return;
  }
  const fresh = await conflictNow(p);
  await loadList();
  selected = shown.find((f) => f.properties.id === p.id) || fresh || selected;
  renderList();
  showDetail(selected, t("plan.recorded", { status: t(`plan.status.${answer.body.status}`) }));
}

// A conflict as it is now.
async function conflictNow(p) {
  const answer = await call("GET", `/api/conflicts/${encodeURIComponent(p.id)}`);
  return answer.ok ? answer.body : null;
}

// ---- the timeline -------------------------------------------------------------------------

let timelineAsked = 0;

// The timeline of a project's street ({project}) or of a box ({bbox}).
async function showTimeline(place, heading, marks = {}) {
  const mine = ++timelineAsked;
  const url = place.project
    ? `/api/projects/${encodeURIComponent(place.project)}/timeline`
    : `/api/timeline?${new URLSearchParams({ bbox: place.bbox })}`;
  let data;
  try {
    data = await getJson(url, "timeline");
  } catch (error) {
    if (isAbort(error)) return;
    data = null;
  }
  if (mine !== timelineAsked) return;
  const box = $("timeline-box");
  const wasHidden = box.hidden;
  box.hidden = false;
  if (wasHidden) map.invalidate();
  $("timeline-title").textContent = heading;
  if (!data) {
    $("timeline-summary").textContent = t("timeline.failed");
    return;
  }
  const parts = [t("timeline.summary", { works: count(data.works.length), zones: count(data.zones.length) })];
  if (data.truncated) parts.push(t("timeline.truncated", { n: count(data.works.length) }));
  $("timeline-summary").textContent = parts.join(" ");
  timelineKey(marks, data.zones.length);
  timeline.show(data, marks);
  setTimeout(() => map.invalidate(), 50); // the map's share of the column changed
}

function timelineKey(marks, zones) {
  const used = [];
  if (marks.pair?.length) used.push(h("li", {}, h("span", { class: "key-pair", "aria-hidden": "true" }, "◆"), t("timeline.keyPair")));
  if (zones) used.push(h("li", {}, h("span", { class: "zone-swatch", "aria-hidden": "true" }), t("timeline.keyZone")));
  used.push(h("li", {}, h("span", { class: "key-now", "aria-hidden": "true" }), t("timeline.keyNow")));
  $("timeline-key").replaceChildren(...used);
}

function conflictTimeline(feature) {
  const p = feature.properties;
  areaLayer.clearLayers();
  const zone = p.zone ? (p.zone.id ? { id: p.zone.id } : { project: p.zone.project }) : null;
  showTimeline({ project: p.a.code }, t("timeline.ofWork", { title: p.a.title }),
    { pair: [p.a.code, p.b?.code].filter(Boolean), zone });
}

function workTimeline(code, title) {
  areaLayer.clearLayers();
  showTimeline({ project: code }, t("timeline.ofWork", { title }), { pair: [code] });
}

// A click on a work of the timeline shows that work on the map.
async function timelineWork(code) {
  try {
    const feature = await getJson(`/api/projects/${encodeURIComponent(code)}`, "timeline-work");
    map.highlight([feature]);
    map.focusFeature(feature);
  } catch (error) {
    if (!isAbort(error)) console.error(error);
  }
}

// A box dragged on the map (Esc cancels; Enter takes the whole view): its timeline.
function drawArea() {
  if (drawing) return drawing.cancel();
  const leaflet = map.leaflet;
  const button = $("area-timeline");
  let start = null;
  let box = null;
  const say = (text, kind = "") => {
    $("export-status").textContent = text;
    $("export-status").className = `form-status ${kind}`;
  };
  const stop = () => {
    leaflet.off("mousedown", down).off("mousemove", move).off("mouseup", up);
    document.removeEventListener("keydown", key);
    leaflet.dragging.enable();
    $("plan-map").classList.remove("drawing");
    button.setAttribute("aria-pressed", "false");
    drawing = null;
    say("");
  };
  const finish = (bounds) => {
    stop();
    areaLayer.clearLayers();
    L.rectangle(bounds, { color: "#14365d", weight: 2, dashArray: "6 4", fillOpacity: 0.04, interactive: false }).addTo(areaLayer);
    const bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => v.toFixed(6)).join(",");
    showTimeline({ bbox }, t("timeline.ofArea"), {});
  };
  const down = (e) => {
    L.DomEvent.preventDefault(e.originalEvent); // no text is selected by the drag
    start = e.latlng;
    box = L.rectangle([start, start], { color: "#14365d", weight: 2, dashArray: "6 4", fillOpacity: 0.04, interactive: false }).addTo(areaLayer);
  };
  const move = (e) => box?.setBounds(L.latLngBounds(start, e.latlng));
  const up = (e) => {
    if (!start) return;
    const a = leaflet.latLngToContainerPoint(start);
    const b = leaflet.latLngToContainerPoint(e.latlng);
    // let the click that ends the box pass before the map listens again
    setTimeout(() => (Math.abs(a.x - b.x) < 6 || Math.abs(a.y - b.y) < 6
      ? finish(leaflet.getBounds()) : finish(L.latLngBounds(start, e.latlng))));
  };
  const key = (e) => {
    if (e.key === "Escape") stop();
    if (e.key === "Enter") finish(leaflet.getBounds());
  };
  leaflet.dragging.disable();
  leaflet.on("mousedown", down).on("mousemove", move).on("mouseup", up);
  document.addEventListener("keydown", key);
  $("plan-map").classList.add("drawing");
  button.setAttribute("aria-pressed", "true");
  drawing = { cancel: stop };
  say(t("plan.drawHint"));
}

// ---- exports ------------------------------------------------------------------------------

// A file only signed-in accounts may read, saved by the browser under ``filename``.
async function download(url, filename) {
  const status = $("export-status");
  status.className = "form-status";
  status.textContent = t("plan.preparing");
  const blob = await fileUrl(url).catch(() => null);
  if (!blob) {
    status.className = "form-status bad";
    status.textContent = t("plan.exportFailed");
    return;
  }
  const link = h("a", { href: blob, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(blob), 60_000);
  status.textContent = t("plan.downloaded", { file: filename });
}

function exportCsv() {
  const params = filterParams();
  params.set("bbox", map.bboxParam());
  download(`/api/conflicts.csv?${params}`, "conflicts.csv");
}

function exportReport() {
  const code = $("report-district").value;
  if (!code) {
    $("export-status").className = "form-status bad";
    $("export-status").textContent = t("plan.chooseDistrict");
    $("report-district").focus();
    return;
  }
  download(`/api/conflicts/report?district=${encodeURIComponent(code)}`, `conflicts-${code}.html`);
}

async function buildDistricts() {
  try {
    districts = await getJson("/api/districts");
  } catch {
    districts = [];
  }
  districts.sort((a, b) => name(a.name).localeCompare(name(b.name)));
  $("report-district").replaceChildren(h("option", { value: "" }, t("plan.reportDistrict")),
    ...districts.map((d) => h("option", { value: d.code }, name(d.name))));
}

// ---- start --------------------------------------------------------------------------------

async function start() {
  const wanted = readAddress();
  [config, { layers }] = await Promise.all([getJson("/api/config"), getJson("/api/layers")]);
  await setupLanguage(config.jurisdiction, wanted.lang);
  document.title = t("plan.title");
  setTimeZone(config.jurisdiction.timezone);
  const catalogue = layers.find((l) => l.id === "conflicts");
  kindColour = Object.fromEntries((catalogue?.style.legend || []).map((e) => [e.value, e.color]));
  buildFilters();
  await buildDistricts();
  // the timeline takes up to half the map's column, the rest of it stays the map's
  const room = () => Math.max(160, $("plan-work").clientHeight * 0.48 - 90);
  timeline = createTimeline($("timeline"), { config, onSelect: timelineWork, room });
  window.addEventListener("resize", () => timeline.resize());
  $("sign-in-form").addEventListener("submit", submitSignIn);
  $("sign-out").addEventListener("click", async () => {
    await signOut();
    // nothing of this account stays on the page for the next one
    selected = null;
    shown = [];
    $("conflict-detail").replaceChildren();
    $("conflict-detail").hidden = true;
    $("conflict-list").hidden = false;
    $("timeline-box").hidden = true;
    showSignIn(t("editor.signedOut"));
  });
  $("plan-filters").addEventListener("change", readFilters);
  $("plan-filters").addEventListener("reset", (e) => {
    e.preventDefault();
    resetFilters();
  });
  $("list-more").addEventListener("click", () => loadList({ more: true }));
  $("export-csv").addEventListener("click", exportCsv);
  $("export-report").addEventListener("click", exportReport);
  $("area-timeline").addEventListener("click", drawArea);
  $("timeline-all").addEventListener("click", () => timeline.whole());
  $("timeline-close").addEventListener("click", () => {
    $("timeline-box").hidden = true;
    areaLayer.clearLayers();
    map.invalidate();
  });
  $("lang").addEventListener("change", (e) => {
    applyLanguage(e.currentTarget.value, config.jurisdiction, true);
    const params = new URLSearchParams(location.search);
    params.set("lang", e.currentTarget.value);
    location.search = params.toString();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !drawing && !$("conflict-detail").hidden) backToList();
  });
  if (signedIn()) await enter();
  else showSignIn();
  if (wanted.conflict && shown.some((f) => f.properties.id === wanted.conflict)) select(wanted.conflict, { zoom: false });
  document.body.dataset.ready = "true";
}

start();
