// Progress reports in the editor: the report form (a contractor's waits for an official of the
// agency; an official's is approved at once), the officials' queue of pending reports with
// their photos, and a contractor's list of the projects it is named on.
import { date, exactMoney, h, money, percent } from "./format.js";
import { t } from "./i18n.js";
import { photoFlags } from "./panel.js";
import { call, fileUrl } from "./session.js";

const ACCEPT = "image/jpeg,image/png,image/webp,application/pdf";
const FIELDS = ["reported_on", "actual", "planned", "spent_to_date", "note", "files"];

function today() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

// The form of a report on project ``code`` in ``container``; ``onDone(answer)`` follows a
// stored report. ``project`` gives today's figures, shown as the starting values.
export function createReportForm(container, { config, code, project = {}, onDone, onRefused }) {
  const currency = config.jurisdiction.currency;
  const controls = {};
  const errors = {};
  const status = h("p", { id: "report-status", class: "form-status", role: "status", tabindex: "-1" });

  function row(name, control, hint = "") {
    const id = `r-${name}`;
    Object.assign(control, { id, name });
    control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
    controls[name] = control;
    errors[name] = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
    return h("div", { class: "field" },
      h("label", { for: id }, t(`reports.field.${name}`),
        control.required ? h("span", { class: "required" }, ` (${t("editor.required")})`) : null),
      control, h("p", { id: `${id}-hint`, class: "field-hint" }, hint), errors[name]);
  }

  const number = (value, required) => h("input", {
    type: "text", inputmode: "decimal", autocomplete: "off", required, value: value ?? "",
  });
  const spentHint = h("span", {}, t("editor.hint.money", { currency }));
  const spent = number(project.spent, true);
  spent.addEventListener("input", () => {
    const typed = spent.value.trim();
    spentHint.textContent = typed && Number.isFinite(Number(typed))
      ? exactMoney(typed, currency) : t("editor.hint.money", { currency });
  });
  const files = h("input", { type: "file", multiple: true, accept: ACCEPT });
  const form = h("form", { class: "report-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); send(); } },
    row("reported_on", h("input", { type: "date", required: true, value: today() })),
    row("actual", number(project.progress_actual, true), t("editor.hint.percent")),
    row("planned", number(project.progress_planned, false), t("reports.hint.planned")),
    row("spent_to_date", spent, spentHint),
    row("note", h("textarea", { rows: 2, maxlength: 2000 })),
    row("files", files, t("reports.hint.files")),
    status,
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "primary" }, t("reports.send"))));
  container.replaceChildren(form);

  function say(text, kind = "") {
    status.textContent = text;
    status.className = `form-status ${kind}`;
  }

  function clearErrors() {
    for (const [name, box] of Object.entries(errors)) {
      box.hidden = true;
      box.textContent = "";
      controls[name].removeAttribute("aria-invalid");
    }
  }

  function showErrors(problem) {
    clearErrors();
    let first = null;
    const unplaced = [];
    for (const { parameter, reason } of problem?.errors || []) {
      if (!errors[parameter]) {
        unplaced.push(reason);
        continue;
      }
      errors[parameter].hidden = false;
      errors[parameter].textContent = reason;
      controls[parameter].setAttribute("aria-invalid", "true");
      first = first || controls[parameter];
    }
    say([t("reports.refused"), problem?.detail && !first ? problem.detail : "", ...unplaced].filter(Boolean).join(" "), "bad");
    (first || status).focus();
  }

  async function send() {
    const body = new FormData();
    for (const name of FIELDS.filter((f) => f !== "files")) {
      const value = controls[name].value.trim();
      if (value) body.append(name, value);
    }
    for (const file of files.files) body.append("files", file, file.name);
    clearErrors();
    say(t("reports.sending"));
    const answer = await call("POST", `/api/projects/${encodeURIComponent(code)}/progress`, { form: body });
    if (!answer.ok) {
      if (answer.status === 401 || answer.status === 403) return onRefused?.(answer);
      return showErrors(answer.body);
    }
    form.reset();
    controls.reported_on.value = today();
    say(t(answer.body.state === "pending" ? "reports.pending" : "reports.stored"), "ok");
    status.focus();
    onDone?.(answer.body);
  }

  return { say };
}

// A report's photos and documents; those of a report not yet public come with the token.
function attachments(documents) {
  if (!documents.length) return null;
  return h("ul", { class: "report-files" }, documents.map((d) => {
    const item = h("li", {});
    const link = h("a", { href: "#", onclick: async (e) => {
      e.preventDefault();
      const url = await fileUrl(d.url);
      if (url) window.open(url, "_blank", "noopener");
    } }, d.title);
    if (d.thumbnail_url) {
      const image = h("img", { alt: d.title, width: 160, height: 100 });
      fileUrl(d.thumbnail_url).then((url) => { if (url) image.src = url; });
      item.append(image);
    }
    item.append(link);
    const flagged = photoFlags(d.photo_flags);
    if (flagged) item.append(flagged);
    return item;
  }));
}

// The reports waiting for this official's decision (all agencies' for an admin).
export async function showPending(container, { config, onOpen, onCount }) {
  const answer = await call("GET", "/api/reports/pending");
  const heading = h("h2", { id: "form-title", tabindex: "-1" }, t("reports.pendingTitle", { n: answer.body?.length ?? 0 }));
  if (!answer.ok) {
    container.replaceChildren(heading, h("p", { class: "form-status bad", role: "alert" }, t("editor.failed", { detail: answer.status })));
    return;
  }
  onCount?.(answer.body.length);
  const currency = config.jurisdiction.currency;
  const decide = async (report, verdict, item) => {
    const done = await call("POST", `/api/reports/${report.id}/${verdict}`);
    item.querySelector(".decide").replaceWith(h("p", { class: `form-status ${done.ok ? "ok" : "bad"}`, role: "status" },
      done.ok ? t(`reports.decided.${verdict}`, { project: report.project, day: date(report.reported_on) })
        : t("editor.failed", { detail: done.body?.detail || done.status })));
    onCount?.(container.querySelectorAll(".pending-report .decide").length);
  };
  container.replaceChildren(heading,
    answer.body.length ? h("ol", { class: "pending" }, answer.body.map((r) => {
      const item = h("li", { class: "pending-report" });
      item.append(
        h("h3", {}, h("button", { type: "button", class: "link", onclick: () => onOpen(r.project) }, r.title),
          h("span", { class: "muted" }, ` ${r.project}`)),
        h("p", {}, t("reports.summary", {
          day: date(r.reported_on), actual: percent(r.actual),
          planned: r.planned === null ? "–" : percent(r.planned), spent: money(r.spent_to_date, currency),
        })),
        r.note ? h("p", { class: "note" }, r.note) : null,
        attachments(r.documents) || "",
        h("p", { class: "decide" },
          h("button", { type: "button", class: "primary", onclick: () => decide(r, "approve", item) }, t("reports.approve")),
          " ",
          h("button", { type: "button", class: "danger-outline", onclick: () => decide(r, "reject", item) }, t("reports.reject"))));
      return item;
    })) : h("p", { class: "muted" }, t("reports.noneWaiting")));
  heading.focus();
}

// A contractor's projects, each with its reports and their state and a form for a new one.
export async function showAssigned(container, { config, onRefused, said = "" }) {
  const answer = await call("GET", "/api/reports/assigned");
  if (!answer.ok) return onRefused?.(answer);
  const currency = config.jurisdiction.currency;
  const heading = h("h2", { id: "form-title", tabindex: "-1" }, t("reports.assignedTitle", { n: answer.body.length }));
  const list = h("ol", { class: "assigned" }, answer.body.map((p) => {
    const formBox = h("div", { class: "report-box", hidden: true });
    const open = h("button", { type: "button", class: "primary", "aria-expanded": "false", onclick: () => {
      formBox.hidden = !formBox.hidden;
      open.setAttribute("aria-expanded", String(!formBox.hidden));
      if (!formBox.hidden && !formBox.firstChild) {
        createReportForm(formBox, { config, code: p.code, project: p, onRefused,
          onDone: (done) => showAssigned(container, { config, onRefused,
            said: t(`reports.sent.${done.state}`, { code: p.code }) }) });
      }
      formBox.querySelector("input")?.focus();
    } }, t("reports.new"));
    return h("li", { class: "assigned-project" },
      h("h3", {}, p.title, h("span", { class: "muted" }, ` ${p.code}`)),
      h("p", {}, t("reports.now", { actual: percent(p.progress_actual), spent: money(p.spent, currency),
        budget: money(p.budget, currency), end: date(p.planned_end) })),
      p.reports.length ? h("ul", { class: "history" }, p.reports.map((r) => h("li", {},
        h("time", { datetime: r.reported_on }, date(r.reported_on)), " ",
        t("reports.line", { actual: percent(r.actual), spent: money(r.spent_to_date, currency) }), " ",
        h("span", { class: `state state-${r.state}` }, t(`reports.state.${r.state}`))))) : null,
      h("p", { class: "decide" }, open,
        p.published ? h("a", { class: "button", href: `/?project=${encodeURIComponent(p.code)}` }, t("reports.publicPage")) : null),
      formBox);
  }));
  container.replaceChildren(heading,
    said ? h("p", { class: "form-status ok", role: "status" }, said) : "",
    answer.body.length ? list : h("p", { class: "muted" }, t("reports.noneAssigned")));
  heading.focus();
}
