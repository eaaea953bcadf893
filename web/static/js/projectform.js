// The form of a project's fields in the editor: built from the city's vocabularies, loaded from
// a working copy (or empty for a new project), read back as the body of POST (every field given)
// or of PATCH (only what changed), and showing the API's errors next to the fields they name.
import { exactMoney, h } from "./format.js";
import { label, name, t } from "./i18n.js";

const MONEY = ["budget", "contract_value", "spent"];
const DATES = ["planned_start", "planned_end", "actual_start", "actual_end"];
// the fields, in fieldsets; `kind` says how each is entered and read
const GROUPS = [
  ["editor.groupAbout", [
    { name: "title", required: true, maxlength: 200 },
    { name: "description", kind: "textarea", maxlength: 5000 },
    { name: "category", kind: "select", required: true, terms: (c) => c.categories },
    { name: "project_type", kind: "select", required: true, terms: (c) => c.project_types },
    { name: "status", kind: "select", required: true, terms: (c) => c.statuses },
  ]],
  ["editor.groupWho", [
    { name: "agency", kind: "agency", required: true },
    { name: "contractor", maxlength: 200 },
    { name: "supervisor", maxlength: 200 },
    { name: "officer_name", maxlength: 100 },
    { name: "officer_phone", type: "tel", maxlength: 40 },
  ]],
  ["editor.groupMoney", [
    { name: "budget", kind: "money", required: true },
    { name: "contract_value", kind: "money" },
    { name: "spent", kind: "money" },
  ]],
  ["editor.groupTime", [
    { name: "planned_start", type: "date", required: true },
    { name: "planned_end", type: "date", required: true },
    { name: "actual_start", type: "date" },
    { name: "actual_end", type: "date" },
    { name: "progress_planned", kind: "percent" },
    { name: "progress_actual", kind: "percent" },
  ]],
  ["editor.groupPlace", [
    { name: "address", maxlength: 300 },
    { name: "geometry", kind: "geometry", required: true },
  ]],
];
const FIELDS = GROUPS.flatMap(([, fields]) => fields);

// A working copy (/api/projects/{code}/working) as the form's values: text as typed, or "".
function valuesOf(project) {
  const p = project || {};
  const text = (v) => (v === null || v === undefined ? "" : String(v));
  // a stored amount or percentage as an official types it: 45.00 is 45, 12.50 is 12.5
  const number = (v) => text(v).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  const numeric = (f) => f.kind === "money" || f.kind === "percent";
  return {
    ...Object.fromEntries(FIELDS.map((f) => [f.name, numeric(f) ? number(p[f.name]) : text(p[f.name])])),
    geometry: p.geometry ? JSON.stringify(p.geometry) : "",
    published: Boolean(p.published),
  };
}

// The geometry as typed: GeoJSON (parsed) or WKT (as text, the API reads it); null when empty.
export function geometryOf(text) {
  const typed = text.trim();
  if (!typed) return null;
  try {
    return JSON.parse(typed);
  } catch {
    return typed;
  }
}

// The form in ``container``. ``me`` is the account (/api/auth/me): an official's agency is
// fixed, an admin picks one. ``onGeometry(text)`` follows a geometry typed by hand; ``onSave``
// and ``onWithdraw(reason)`` answer the buttons; ``onChange()`` follows every change (the
// editor checks the work's conflicts before it is saved).
export function createProjectForm(container, { config, me, onGeometry, onSave, onWithdraw, onChange = () => {} }) {
  let baseline = valuesOf(null); // the values as last loaded or saved
  let existing = false; // whether the project is stored (an edit) or new
  const controls = {};
  const errors = {};
  const hints = {};
  const status = h("p", { id: "form-status", class: "form-status", role: "status", tabindex: "-1" });

  function control(field) {
    const id = `f-${field.name}`;
    const attrs = {
      id, name: field.name, required: field.required, maxlength: field.maxlength,
      "aria-describedby": `${id}-error ${id}-hint`,
    };
    if (field.kind === "textarea") return h("textarea", { ...attrs, rows: 3 });
    if (field.kind === "geometry") {
      return h("textarea", { ...attrs, rows: 3, spellcheck: "false", class: "geometry-text",
        onchange: (e) => onGeometry(e.currentTarget.value) });
    }
    if (field.kind === "select") {
      return h("select", attrs, h("option", { value: "" }, t("editor.choose")),
        Object.entries(field.terms(config)).map(([code, term]) => h("option", { value: code }, label(term))));
    }
    if (field.kind === "agency") {
      const own = me.role === "official";
      return h("select", { ...attrs, disabled: own },
        ...(own ? [] : [h("option", { value: "" }, t("editor.choose"))]),
        config.agencies.filter((a) => !own || a.code === me.agency)
          .map((a) => h("option", { value: a.code }, name(a.name))));
    }
    const numeric = field.kind === "money" || field.kind === "percent";
    return h("input", {
      ...attrs, type: field.type || "text", inputmode: numeric ? "decimal" : null,
      autocomplete: "off",
      oninput: field.kind === "money" ? () => showAmount(field.name) : null,
    });
  }

  // A money field's hint: the amount as the public will read it, so a missing zero shows.
  function showAmount(field) {
    const typed = controls[field].value.trim();
    hints[field].textContent = typed && Number.isFinite(Number(typed))
      ? exactMoney(typed, config.jurisdiction.currency) : hintText(field);
  }

  function hintText(field) {
    if (field === "geometry") return t("editor.hint.geometry");
    if (MONEY.includes(field)) return t("editor.hint.money", { currency: config.jurisdiction.currency });
    if (field.startsWith("progress_")) return t("editor.hint.percent");
    return "";
  }

  function row(field) {
    const id = `f-${field.name}`;
    controls[field.name] = control(field);
    errors[field.name] = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
    hints[field.name] = h("p", { id: `${id}-hint`, class: "field-hint" }, hintText(field.name));
    return h("div", { class: `field field-${field.kind || "text"}` },
      h("label", { for: id }, t(`editor.field.${field.name}`),
        field.required ? h("span", { class: "required" }, ` (${t("editor.required")})`) : null),
      controls[field.name], hints[field.name], errors[field.name]);
  }

  const published = h("input", { id: "f-published", name: "published", type: "checkbox", role: "switch",
    "aria-describedby": "f-published-hint f-published-error" });
  controls.published = published;
  errors.published = h("p", { id: "f-published-error", class: "field-error", hidden: true });
  const reason = h("textarea", { id: "f-reason", name: "reason", rows: 2, maxlength: 1000,
    "aria-describedby": "f-reason-hint f-reason-error" });
  controls.reason = reason;
  errors.reason = h("p", { id: "f-reason-error", class: "field-error", hidden: true });
  const reasonRow = h("div", { class: "field reason", hidden: true },
    h("label", { for: "f-reason" }, t("editor.field.reason")),
    reason, h("p", { id: "f-reason-hint", class: "field-hint" }, t("editor.hint.reason")), errors.reason);

  const title = h("h2", { id: "form-title", tabindex: "-1" });
  const code = h("p", { class: "muted project-code" });
  const withdrawReason = h("textarea", { id: "withdraw-reason", rows: 2, maxlength: 1000,
    "aria-describedby": "withdraw-error" });
  const withdrawError = h("p", { id: "withdraw-error", class: "field-error", hidden: true });
  const withdrawBox = h("div", { class: "withdraw-confirm", hidden: true },
    h("label", { for: "withdraw-reason" }, t("editor.withdrawReason")), withdrawReason, withdrawError,
    h("button", { type: "button", class: "danger", onclick: () => onWithdraw(withdrawReason.value.trim()) },
      t("editor.withdrawConfirm")));
  const withdrawButton = h("button", { type: "button", class: "danger-outline", "aria-expanded": "false",
    onclick: () => {
      withdrawBox.hidden = !withdrawBox.hidden;
      withdrawButton.setAttribute("aria-expanded", String(!withdrawBox.hidden));
      if (!withdrawBox.hidden) withdrawReason.focus();
    } }, t("editor.withdraw"));
  const withdrawSection = h("section", { class: "withdraw", "aria-label": t("editor.withdraw"), hidden: true },
    withdrawButton, withdrawBox);

  const form = h("form", { id: "project-form", novalidate: true,
    onsubmit: (e) => { e.preventDefault(); onSave(); },
    oninput: () => { reasonRow.hidden = !needsReason(); onChange(); } },
  GROUPS.map(([legend, fields]) => h("fieldset", {}, h("legend", {}, t(legend)), fields.map(row))),
  h("fieldset", {}, h("legend", {}, t("editor.groupPublish")),
    h("div", { class: "field switch" },
      h("label", { for: "f-published" }, published, " ", t("editor.field.published")),
      h("p", { id: "f-published-hint", class: "field-hint" }, t("editor.hint.published")), errors.published),
    reasonRow),
  status,
  h("div", { class: "form-actions" }, h("button", { type: "submit", class: "primary" }, t("editor.save"))));

  container.replaceChildren(title, code, form, withdrawSection);

  function read() {
    const values = Object.fromEntries(FIELDS.map((f) => [f.name, controls[f.name].value.trim()]));
    return { ...values, published: published.checked };
  }

  // A change of money or dates of a public project needs its reason (the log shows it).
  function needsReason() {
    const now = read();
    return existing && [...MONEY, ...DATES].some((f) => now[f] !== baseline[f]);
  }

  function load(project, projectCode = null) {
    existing = Boolean(projectCode);
    baseline = valuesOf(project);
    if (!project && me.role === "official") baseline.agency = me.agency;
    for (const f of FIELDS) controls[f.name].value = baseline[f.name];
    published.checked = baseline.published;
    // a public project is not taken back to a draft: it is withdrawn instead
    published.disabled = existing && baseline.published;
    reason.value = "";
    reasonRow.hidden = true;
    title.textContent = existing ? t("editor.editing", { title: baseline.title }) : t("editor.newTitle");
    code.textContent = projectCode ? t("editor.code", { code: projectCode }) : t("editor.newHint");
    withdrawSection.hidden = !existing;
    withdrawBox.hidden = true;
    withdrawReason.value = "";
    for (const field of MONEY) showAmount(field);
    clearErrors();
    say("");
    onChange();
  }

  // The body of the save: every value given for a new project; the changes of an edit.
  function body() {
    const now = read();
    const value = (field) => (field === "geometry" ? geometryOf(now.geometry) : now[field] || null);
    const fields = FIELDS.map((f) => f.name)
      .filter((f) => !(f === "agency" && me.role === "official"))
      .filter((f) => (existing ? now[f] !== baseline[f] : now[f] !== ""));
    const out = Object.fromEntries(fields.map((f) => [f, value(f)]));
    if (!existing || now.published !== baseline.published) out.published = now.published;
    if (existing && reason.value.trim()) out.reason = reason.value.trim();
    return out;
  }

  function saved(projectCode) {
    const now = read();
    load({ ...now, geometry: geometryOf(now.geometry) }, projectCode);
  }

  function clearErrors() {
    for (const [field, box] of Object.entries(errors)) {
      box.hidden = true;
      box.textContent = "";
      controls[field].removeAttribute("aria-invalid");
    }
    withdrawError.hidden = true;
  }

  // The problem's errors next to their fields ("crs" belongs to the geometry); the others in
  // the status line. The first field in error gets the focus.
  function showErrors(problem) {
    clearErrors();
    const unplaced = [];
    let first = null;
    for (const { parameter, reason: why } of problem.errors || []) {
      const field = parameter === "crs" ? "geometry" : parameter;
      if (!errors[field]) {
        unplaced.push(`${parameter}: ${why}`);
        continue;
      }
      if (field === "reason") reasonRow.hidden = false;
      errors[field].hidden = false;
      errors[field].textContent = errors[field].textContent ? `${errors[field].textContent}; ${why}` : why;
      controls[field].setAttribute("aria-invalid", "true");
      first = first || controls[field];
    }
    say([t("editor.fixFields"), ...unplaced].join(" "), "bad");
    (first || status).focus?.();
  }

  function showWithdrawError(text) {
    withdrawError.hidden = false;
    withdrawError.textContent = text;
    withdrawReason.setAttribute("aria-invalid", "true");
    withdrawReason.focus();
  }

  function say(text, kind = "") {
    status.textContent = text;
    status.className = `form-status ${kind}`;
  }

  function setGeometry(geometry) {
    controls.geometry.value = geometry ? JSON.stringify(geometry) : "";
    errors.geometry.hidden = true;
    controls.geometry.removeAttribute("aria-invalid");
    onChange();
  }

  // What POST /api/conflicts/check reads of the work: null until it has a place, a category
  // and its planned dates.
  function checkValues() {
    const now = read();
    if (!now.geometry || !now.category || !now.planned_start || !now.planned_end) return null;
    const values = { geometry: geometryOf(now.geometry), category: now.category,
      planned_start: now.planned_start, planned_end: now.planned_end };
    for (const field of ["actual_start", "actual_end"]) if (now[field]) values[field] = now[field];
    return values;
  }

  return {
    load, body, saved, showErrors, showWithdrawError, say, setGeometry, checkValues,
    geometry: () => geometryOf(controls.geometry.value),
    focus: () => title.focus(),
    isPublished: () => published.checked,
  };
}
