// The officials' editor: signs in, then composes the map component (map.js, as the public map
// does) with Leaflet-Geoman's drawing tools, and the project form (projectform.js) that saves
// through the write API: POST a new project, PATCH one opened by its code (If-Match: the
// version it was opened at), DELETE to withdraw it with a reason. Officials also report
// progress and decide on their contractors' reports (reports.js); a contractor signing in here
// gets the projects it is named on and the report form, without the map. While a project is
// drawn or edited, the conflicts it would have (POST /api/conflicts/check) show over the map,
// the other works highlighted on it.
import { getJson } from "./api.js";
import { count, date, h, setTimeZone } from "./format.js";
import { apply as applyLanguage, lang, setup as setupLanguage, t } from "./i18n.js";
import { CLICK_ZOOM, createMap } from "./map.js";
import { showImport } from "./imports.js";
import { createProjectForm } from "./projectform.js";
import { createReportForm, showAssigned, showPending } from "./reports.js";
import { call, forget, signedIn, signInForm, signOut } from "./session.js";

const WRITERS = ["official", "admin"];
const GEOMAN_LANGUAGES = ["ko", "en"]; // Geoman's own toolbar texts; the others read English
const DRAWN_STYLE = { color: "#0b6bcb", weight: 4, fillOpacity: 0.25, pmIgnore: false };
const CHECK_DELAY = 600; // ms after the last change before the work's conflicts are checked

const $ = (id) => document.getElementById(id);
let config, layers, me;
let map = null; // the map component, once signed in
let drawn = null; // the layer group of the geometry being edited
let form = null;
let reportBox = null; // the progress report of the opened project, below its form
let opened = null; // {code, version} of the project being edited; null for a new one
let others = null; // the layer group of the works the drawn one would meet
let checkBox = null; // what the check found, over the map
let checkTimer = null;
let checking = 0; // the latest check (an older answer is dropped)

// ---- sign-in ------------------------------------------------------------------------------

const signInPage = signInForm(
  ["edit-map", "editor-panel", "find", "who", "new-project", "drafts", "pending", "import", "sign-out"],
  () => enter(),
  t,
);
const showSignIn = signInPage.show;
const submitSignIn = signInPage.submit;

// The signed-in account, or the sign-in form when the token no longer holds.
async function enter() {
  me = await signInPage.account();
  if (!me) return;
  document.body.classList.toggle("reporting", me.role === "contractor");
  if (me.role === "contractor") {
    $("editor-panel").hidden = false;
    return showAssigned($("editor-body"), { config, onRefused: refusedReport });
  }
  if (!WRITERS.includes(me.role)) {
    $("editor-panel").hidden = false;
    $("editor-body").replaceChildren(h("p", { class: "form-status bad", role: "alert" }, t("editor.notAWriter")));
    return;
  }
  for (const id of ["edit-map", "editor-panel", "find", "new-project", "drafts", "pending", "import"]) $(id).hidden = false;
  countPending();
  if (!map) startMap();
  form = null;
  showCheck(null);
  ensureForm();
  const code = new URLSearchParams(location.search).get("project");
  if (code) await openProject(code);
  else newProject();
}

// ---- the map and its drawing tools ---------------------------------------------------------

function startMap() {
  L.PM.setOptIn(true); // only what is drawn here is edited: never the public map's layers
  L.Map.mergeOptions({ pmIgnore: false }); // but the map itself takes the tools
  // the view of ?lat=&lon=&z= (as the public map's links carry it), else the whole city
  const view = new URLSearchParams(location.search);
  const state = { lat: view.get("lat"), lon: view.get("lon"), z: view.get("z") };
  map = createMap($("edit-map"), { config, layers, state, onClick: clickAt });
  const leaflet = map.leaflet;
  drawn = L.featureGroup().addTo(leaflet);
  others = L.featureGroup().addTo(leaflet);
  const found = L.control({ position: "topright" });
  found.onAdd = () => {
    checkBox = h("section", { id: "conflict-check", class: "conflict-check", "aria-live": "polite", hidden: true });
    L.DomEvent.disableClickPropagation(checkBox);
    L.DomEvent.disableScrollPropagation(checkBox);
    return checkBox;
  };
  found.addTo(leaflet);
  // the projects on the map are what a new shape snaps to (not the district outlines)
  leaflet.on("layeradd", ({ layer }) => {
    if (layer.options.interactive !== false && !drawn.hasLayer(layer)
        && !layer._pmTempLayer && !layer.options.icon?.options.className?.includes("cluster")) {
      layer.options.snapIgnore = false;
    }
  });
  leaflet.pm.setLang(GEOMAN_LANGUAGES.includes(lang) ? lang : "en");
  leaflet.pm.addControls({
    position: "topleft", drawMarker: true, drawPolyline: true, drawPolygon: true,
    drawCircle: false, drawCircleMarker: false, drawRectangle: false, drawText: false,
    cutPolygon: false, rotateMode: false, editMode: true, dragMode: true, removalMode: true,
  });
  leaflet.pm.setGlobalOptions({
    layerGroup: drawn, snappable: true, snapDistance: 15,
    pathOptions: DRAWN_STYLE, markerStyle: { pmIgnore: false },
  });
  labelToolbar();
  leaflet.on("pm:create", ({ layer }) => {
    for (const other of drawn.getLayers()) if (other !== layer) drawn.removeLayer(other);
    follow(layer);
    shapeChanged();
  });
  leaflet.on("pm:remove", shapeChanged);
  map.refreshDistricts().then(() => map.refreshProjects());
}

// Geoman's buttons are links with a title: they get a role and a name a screen reader says.
function labelToolbar() {
  for (const link of $("edit-map").querySelectorAll(".leaflet-pm-toolbar a.leaflet-buttons-control-button")) {
    link.setAttribute("role", "button");
    link.setAttribute("aria-label", link.closest("[title]")?.title || link.title || "");
  }
}

function follow(layer) {
  layer.on("pm:edit pm:dragend", shapeChanged);
}

// The drawing changed: the form's geometry follows (one shape per project).
function shapeChanged() {
  const shapes = drawn.getLayers();
  form.setGeometry(shapes.length ? shapes[shapes.length - 1].toGeoJSON().geometry : null);
}

// A geometry typed in the form (GeoJSON) is drawn; WKT is sent as typed.
function typedGeometry(text) {
  try {
    showShape(JSON.parse(text));
  } catch {
    drawn.clearLayers();
  }
}

function showShape(geometry) {
  drawn.clearLayers();
  if (!geometry) return;
  L.geoJSON(geometry, {
    ...DRAWN_STYLE,
    style: () => DRAWN_STYLE,
    pointToLayer: (_, latlng) => L.marker(latlng, { pmIgnore: false }),
  }).eachLayer((layer) => {
    drawn.addLayer(layer);
    follow(layer);
  });
}

// A click on the map (when no tool is drawing) lists the projects there, to open one.
async function clickAt(latlng, zoom) {
  if (map.leaflet.pm.globalDrawModeEnabled() || zoom < CLICK_ZOOM) return;
  const params = new URLSearchParams({ lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6), zoom });
  const data = await getJson(`/api/projects/at?${params}`, "at");
  showChoices(t("editor.here", { n: data.features.length }), data.features);
}

async function find(event) {
  event.preventDefault();
  const q = $("find-q").value.trim();
  if (!q) return;
  const direct = await call("GET", `/api/projects/${encodeURIComponent(q)}/working`);
  if (direct.ok) return openProject(q);
  const data = await getJson(`/api/projects?${new URLSearchParams({ q, limit: 20 })}`, "find");
  const heading = data.numberMatched === undefined
    ? t("editor.foundMany", { q, n: data.features.length })
    : t("editor.found", { q, n: data.numberMatched });
  showChoices(heading, data.features);
}

// Projects to choose from; their own agency's are the ones an official may open.
function showChoices(heading, features) {
  const mine = (f) => me.role === "admin" || f.properties.agency?.code === me.agency;
  $("editor-body").replaceChildren(
    h("h2", { id: "form-title", tabindex: "-1" }, heading),
    h("ul", { class: "choices" }, features.map((f) => h("li", {},
      mine(f)
        ? h("button", { type: "button", class: "choice", onclick: () => openProject(f.properties.code) },
          f.properties.title, h("span", { class: "muted" }, ` ${f.properties.code}`))
        : h("span", { class: "muted" }, `${f.properties.title} ${f.properties.code} · ${t("editor.notYours")}`)))),
    h("button", { type: "button", onclick: () => (opened ? openProject(opened.code) : newProject()) }, t("editor.back")),
  );
  $("form-title").focus();
  form = null;
  showCheck(null);
}

// ---- the project -------------------------------------------------------------------------

function ensureForm() {
  if (!form) {
    const formBox = h("div", {});
    reportBox = h("section", { class: "report-section", "aria-labelledby": "report-title", hidden: true });
    $("editor-body").replaceChildren(formBox, reportBox);
    form = createProjectForm(formBox, {
      config, me, onGeometry: typedGeometry, onSave: save, onWithdraw: withdraw, onChange: checkSoon,
    });
  }
}

// Below an opened project's form: a progress report (an official's is public at once).
function showReportForm(project) {
  const box = h("div", {});
  reportBox.replaceChildren(h("h2", { id: "report-title" }, t("reports.title")),
    h("p", { class: "field-hint" }, t("reports.officialHint")), box);
  reportBox.hidden = Boolean(project.withdrawn_at);
  createReportForm(box, { config, code: project.code, project, onRefused: refusedReport,
    onDone: () => openProject(project.code, { keepStatus: true }) });
}

// A refused report that no form field explains: the session is over, or it is not allowed.
function refusedReport(answer) {
  if (answer.status === 401) {
    forget();
    return showSignIn(t("editor.signedOut"));
  }
  $("editor-body").prepend(h("p", { class: "form-status bad", role: "alert" }, t("editor.forbidden")));
}

// ---- the conflicts the work would have -----------------------------------------------------

function checkSoon() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkConflicts, CHECK_DELAY);
}

function kindColor(kind) {
  const legend = layers.find((l) => l.id === "conflicts")?.style.legend || [];
  return legend.find((e) => e.value === kind)?.color || "#c81e1e";
}

async function checkConflicts() {
  const mine = ++checking;
  const values = form?.checkValues();
  if (!values) return showCheck(null);
  const answer = await call("POST", "/api/conflicts/check", { json: { ...values, ...(opened ? { code: opened.code } : {}) } });
  if (mine !== checking || !form) return;
  // a work that cannot be checked yet (a geometry being typed): the save names what is wrong
  showCheck(answer.ok ? answer.body : null);
}

function checkLine(p) {
  const other = p.b
    ? [h("strong", {}, p.b.title), ` ${p.b.code}`]
    : [h("strong", {}, p.zone?.reason || t("check.zone")), ` ${date(p.zone?.start)} – ${date(p.zone?.end)}`];
  const days = p.kind === "dig_once" ? t("conflict.gapDays", { n: count(p.gap_days) }) : t("conflict.overlapDays", { n: count(p.overlap_days) });
  return h("li", {},
    h("span", { class: "check-kind" }, h("span", { class: "dot", style: `background:${kindColor(p.kind)}`, "aria-hidden": "true" }),
      t(`conflict.${p.kind}`)),
    h("span", {}, ...other),
    h("span", { class: "muted" }, `${t("panel.distance", { m: count(Math.round(Number(p.distance_m))) })} · ${days}`));
}

// The check's answer over the map, and the other works on it; null hides both.
function showCheck(features) {
  others?.clearLayers();
  const box = checkBox;
  if (!box) return;
  box.hidden = !features;
  if (!features) return box.replaceChildren();
  for (const f of features) {
    L.geoJSON(f.geometry, {
      interactive: false,
      style: { color: kindColor(f.properties.kind), weight: 7, opacity: 0.9, dashArray: "2 8", lineCap: "round", fillOpacity: 0.15 },
      pointToLayer: (_, at) => L.circleMarker(at, { radius: 11, color: kindColor(f.properties.kind), weight: 4, fillOpacity: 0, interactive: false }),
    }).addTo(others);
  }
  box.classList.toggle("found", features.length > 0);
  box.replaceChildren(
    h("h3", {}, t("check.title")),
    features.length
      ? h("p", {}, t("check.found", { n: count(features.length) }))
      : h("p", { class: "check-none" }, "✓ ", t("check.none")),
    features.length ? h("ul", { class: "check-list" }, features.map((f) => checkLine(f.properties))) : null);
}

// ---- drafts and reports to decide ---------------------------------------------------------

async function showDrafts() {
  const answer = await call("GET", "/api/drafts");
  const mine = answer.ok ? answer.body : [];
  form = null;
  showCheck(null);
  $("editor-body").replaceChildren(
    h("h2", { id: "form-title", tabindex: "-1" }, t("editor.draftsTitle", { n: mine.length })),
    mine.length ? h("ul", { class: "choices" }, mine.map((d) => h("li", {},
      h("button", { type: "button", class: "choice", onclick: () => openProject(d.code) },
        d.title, h("span", { class: "muted" }, ` ${d.code} · ${t("editor.changedOn", { date: date(d.updated_at) })}`)))))
      : h("p", { class: "muted" }, t("editor.noDrafts")),
    h("button", { type: "button", onclick: () => (opened ? openProject(opened.code) : newProject()) }, t("editor.back")));
  $("form-title").focus();
}

function showImporting() {
  form = null;
  showCheck(null);
  showImport($("editor-body"), { me, onDone: () => map.refreshProjects() });
}

function showPendingReports() {
  form = null;
  showCheck(null);
  showPending($("editor-body"), { config, onOpen: (code) => openProject(code), onCount: pendingCount });
}

function pendingCount(n) {
  $("pending").textContent = t("reports.pendingButton", { n });
  $("pending").classList.toggle("has-pending", n > 0);
}

async function countPending() {
  const answer = await call("GET", "/api/reports/pending");
  if (answer.ok) pendingCount(answer.body.length);
}

function newProject() {
  ensureForm();
  reportBox.hidden = true;
  opened = null;
  setParam(null);
  form.load(null);
  drawn.clearLayers();
  form.focus();
}

// A project as its writers see it (a draft too), with the version an edit is made from.
async function openProject(code, { keepStatus = false } = {}) {
  const answer = await call("GET", `/api/projects/${encodeURIComponent(code)}/working`);
  ensureForm();
  if (!answer.ok) {
    newProject();
    return form.say(t(answer.status === 403 ? "editor.notYourAgency" : "editor.notFound", { code }), "bad");
  }
  const found = answer.body;
  opened = { code, version: found.version };
  setParam(code);
  form.load(found, code);
  showReportForm(found);
  showShape(found.geometry);
  if (drawn.getLayers().length) map.leaflet.fitBounds(drawn.getBounds(), { maxZoom: 17, padding: [40, 40] });
  if (keepStatus) form.say(t("reports.stored"), "ok");
  form.focus();
}

// The project opened, in the address (a reload or a shared link opens it again).
function setParam(code) {
  const params = new URLSearchParams(location.search);
  if (code) params.set("project", code);
  else params.delete("project");
  history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
}

// What a refused write means to the official, by its status.
function refused(answer) {
  if (answer.status === 422) return form.showErrors(answer.body || {});
  if (answer.status === 401) {
    forget();
    return showSignIn(t("editor.signedOut"));
  }
  const key = { 403: "editor.forbidden", 404: "editor.gone", 409: "editor.conflict", 412: "editor.stale", 428: "editor.stale" }[answer.status];
  form.say(key ? t(key) : t("editor.failed", { detail: answer.body?.detail || answer.status }), "bad");
  if (answer.status === 412) {
    $("form-status").append(" ", h("button", { type: "button", onclick: () => openProject(opened.code) }, t("editor.reload")));
  }
  $("form-status").focus();
}

async function save() {
  const body = form.body();
  if (opened && !Object.keys(body).length) return form.say(t("editor.nothingChanged"));
  form.say(t("editor.saving"));
  const answer = opened
    ? await call("PATCH", `/api/projects/${encodeURIComponent(opened.code)}`, { json: body, headers: { "If-Match": `"${opened.version}"` } })
    : await call("POST", "/api/projects", { json: body });
  if (!answer.ok) return refused(answer);
  opened = { code: answer.body.code, version: answer.body.version };
  setParam(opened.code);
  form.saved(opened.code);
  form.say(t(form.isPublished() ? "editor.savedPublic" : "editor.saved", { code: opened.code }), "ok");
  map.refreshProjects();
  $("form-status").focus();
}

async function withdraw(reason) {
  const answer = await call("DELETE", `/api/projects/${encodeURIComponent(opened.code)}`, {
    json: { reason }, headers: { "If-Match": `"${opened.version}"` },
  });
  if (answer.status === 422) return form.showWithdrawError(answer.body.errors?.[0]?.reason || answer.body.detail);
  if (!answer.ok) return refused(answer);
  const code = opened.code;
  newProject();
  form.say(t("editor.withdrawn", { code }), "ok");
  map.refreshProjects();
}

// ---- start --------------------------------------------------------------------------------

async function start() {
  const params = new URLSearchParams(location.search);
  [config, { layers }] = await Promise.all([getJson("/api/config"), getJson("/api/layers")]);
  await setupLanguage(config.jurisdiction, params.get("lang"));
  setTimeZone(config.jurisdiction.timezone);
  $("sign-in-form").addEventListener("submit", submitSignIn);
  $("find").addEventListener("submit", find);
  $("new-project").addEventListener("click", newProject);
  $("drafts").addEventListener("click", showDrafts);
  $("import").addEventListener("click", showImporting);
  $("pending").addEventListener("click", showPendingReports);
  $("sign-out").addEventListener("click", async () => {
    await signOut();
    showSignIn(t("editor.signedOut"));
  });
  $("lang").addEventListener("change", (e) => {
    applyLanguage(e.currentTarget.value, config.jurisdiction, true);
    params.set("lang", e.currentTarget.value);
    location.search = params.toString(); // the form is built in its language anew
  });
  if (signedIn()) await enter();
  else showSignIn();
  document.body.dataset.ready = "true";
}

start();
