// The officials' import: a file and its field mapping sent to /api/imports as a dry run, the
// job polled until its report is in, the report shown (new, changed, unchanged, every rejected
// row with its field and reason), and, when no row is rejected, the import confirmed
// (/api/imports/{id}/apply) and polled to its end. The server does every check.
import { h } from "./format.js";
import { t } from "./i18n.js";
import { call } from "./session.js";

const POLL_MS = 500;
const SHOWN_ROWS = 200; // rejected or changed rows listed; the counts say how many in all
const EXAMPLE = `key: project_no
fields:
  title: name
  budget: {column: budget_thousands, scale: 1000}
  status: {column: stage, values: {started: implementation}}
  planned_start: {column: start, date_format: "%Y.%m.%d"}
  planned_end: end
  category: {value: road}
  project_type: {value: rehabilitation}`;

// Shows the import form in ``box``; ``me`` is the signed-in account (an admin names the agency).
export function showImport(box, { me, onDone }) {
  const file = h("input", { id: "import-file", type: "file", required: true,
    accept: ".geojson,.json,.gpkg,.zip,.kml,.csv,.txt" });
  const mapping = h("textarea", { id: "import-mapping", rows: 10, spellcheck: "false",
    placeholder: EXAMPLE });
  const crs = h("input", { id: "import-crs", type: "text", placeholder: "EPSG:5186", autocomplete: "off" });
  const swap = h("input", { id: "import-swap", type: "checkbox" });
  const unmapped = h("input", { id: "import-unmapped", type: "checkbox" });
  const agency = me.role === "admin" ? h("input", { id: "import-agency", type: "text", autocomplete: "off" }) : null;
  const status = h("p", { id: "import-status", class: "form-status", role: "status", "aria-live": "polite" });
  const result = h("div", { class: "import-result" });
  const check = h("button", { type: "submit", class: "primary" }, t("import.check"));
  const form = h("form", { class: "import-form", novalidate: true,
    onsubmit: (event) => { event.preventDefault(); dryRun(); } },
  h("label", { for: "import-file" }, t("import.file")),
  file,
  h("p", { class: "muted hint" }, t("import.fileHint")),
  h("label", { for: "import-mapping" }, t("import.mapping")),
  mapping,
  h("p", { class: "muted hint" }, t("import.mappingHint")),
  h("label", { for: "import-crs" }, t("import.crs")),
  crs,
  h("label", { class: "check" }, swap, ` ${t("import.swap")}`),
  h("label", { class: "check" }, unmapped, ` ${t("import.unmapped")}`),
  agency ? [h("label", { for: "import-agency" }, t("import.agency")), agency] : null,
  check);
  box.replaceChildren(
    h("h2", { id: "form-title", tabindex: "-1" }, t("import.title")),
    h("p", { class: "muted" }, t("import.intro")),
    form, status, result);
  box.querySelector("#form-title").focus();

  function say(text, bad = false) {
    status.textContent = text;
    status.classList.toggle("bad", bad);
    status.setAttribute("role", bad ? "alert" : "status");
  }

  async function dryRun() {
    result.replaceChildren();
    if (!file.files.length) return say(t("import.noFile"), true);
    const body = new FormData();
    body.append("file", file.files[0]);
    if (mapping.value.trim()) body.append("mapping", mapping.value);
    if (crs.value.trim()) body.append("crs", crs.value.trim());
    if (swap.checked) body.append("swap_axes", "true");
    if (unmapped.checked) body.append("unmapped_drafts", "true");
    if (agency?.value.trim()) body.append("agency", agency.value.trim());
    body.append("dry_run", "true");
    check.disabled = true;
    say(t("import.sending"));
    const answer = await call("POST", "/api/imports", { form: body });
    check.disabled = false;
    if (!answer.ok) return refused(answer.body);
    const job = await finished(answer.body.id);
    if (job) showReport(job);
  }

  async function apply(job) {
    say(t("import.applying"));
    const answer = await call("POST", `/api/imports/${job.id}/apply`);
    if (!answer.ok) return refused(answer.body);
    const done = await finished(answer.body.id);
    if (!done) return;
    result.replaceChildren(counts(done.report),
      h("p", {}, h("a", { href: "/" }, t("import.seeMap"))));
    say(t("import.applied", { n: done.report.new + done.report.changed }));
    onDone?.();
  }

  // The job once it no longer runs, with its progress said meanwhile; null when it failed.
  async function finished(id) {
    for (;;) {
      const answer = await call("GET", `/api/imports/${id}`);
      if (!answer.ok) return refused(answer.body);
      const job = answer.body;
      if (job.state === "done") return job;
      if (job.state !== "running") return refused(job.problem);
      say(t("import.running", { n: job.rows_read }));
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  function refused(problem) {
    const errors = problem?.errors ?? [];
    say(problem?.detail || t("import.failed"), true);
    result.replaceChildren(errors.length
      ? h("ul", { class: "problems" }, errors.map((e) => h("li", {}, `${e.parameter}: ${e.reason}`)))
      : "");
    return null;
  }

  function showReport(job) {
    const report = job.report;
    const rejected = report.rejected;
    const parts = [counts(report)];
    if (rejected.length) {
      parts.push(h("h3", {}, t("import.rejectedTitle", { n: new Set(rejected.map((r) => r.row)).size })),
        table([t("import.row"), t("import.field"), t("import.reason")],
          rejected.slice(0, SHOWN_ROWS).map((r) => [r.row, r.field, r.reason])));
      say(t("import.fix"), true);
    } else {
      say(t("import.ready"));
    }
    if (report.changes.length) {
      parts.push(h("h3", {}, t("import.changedTitle")),
        table([t("import.row"), t("import.code"), t("import.fields")],
          report.changes.slice(0, SHOWN_ROWS).map((c) => [c.row, c.code, c.fields.join(", ")])));
    }
    if (!rejected.length && report.new + report.changed > 0) {
      parts.push(h("button", { type: "button", class: "primary", onclick: () => apply(job) },
        t("import.confirm", { n: report.new + report.changed })));
    }
    result.replaceChildren(...parts);
    result.scrollIntoView({ block: "nearest" });
  }
}

function counts(report) {
  return h("dl", { class: "import-counts" },
    ["rows", "new", "changed", "unchanged", "unplaced"].flatMap((key) => [
      h("dt", {}, t(`import.count.${key}`)), h("dd", {}, report[key].toLocaleString())]),
    h("dt", {}, t("import.count.rejected")),
    h("dd", {}, new Set(report.rejected.map((r) => r.row)).size.toLocaleString()));
}

function table(heads, rows) {
  return h("table", { class: "import-table" },
    h("thead", {}, h("tr", {}, heads.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, String(cell)))))));
}
