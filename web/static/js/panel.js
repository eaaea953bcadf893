// The side panel (a bottom sheet on a phone): what is at a clicked spot, one project's full
// disclosure, a district's totals, or search results.
import { count, date, h, money, percent } from "./format.js";
import { label, lang, name, t } from "./i18n.js";
import { signedIn } from "./session.js";

const body = () => document.getElementById("panel-body");
let config;

export function setConfig(value) {
  config = value;
}

function show(...children) {
  body().replaceChildren(...children.filter(Boolean));
  document.getElementById("panel").classList.add("open");
}

function focusTitle() {
  document.getElementById("panel-title")?.focus();
}

function closeButton() {
  return h("button", {
    type: "button", class: "icon-button close", "aria-label": t("panel.close"),
    onclick: () => {
      document.getElementById("panel").classList.remove("open");
      document.dispatchEvent(new CustomEvent("allimi:close"));
    },
  }, "×");
}

export function showIntro() {
  show(h("h2", { id: "panel-title", tabindex: "-1" }, t("panel.intro.title")),
    h("p", {}, t("panel.intro.text")));
  document.getElementById("panel").classList.remove("open");
}

function chip(text, color = null) {
  return h("span", { class: "chip" }, color ? h("span", { class: "dot", style: `background:${color}`, "aria-hidden": "true" }) : null, text);
}

function categoryChip(code, colors) {
  return chip(label(config.categories[code]), colors[code]);
}

function statusChip(code) {
  return h("span", { class: `chip status status-${code}` }, label(config.statuses[code]));
}

function progressBar(actual, planned) {
  const a = Number(actual);
  const p = Number(planned);
  return h("div", {
    class: `progress ${a + 10 < p ? "behind" : ""}`, role: "img",
    "aria-label": t("project.progressText", { a: percent(a), p: percent(p) }),
  },
  h("span", { class: "actual", style: `width:${Math.min(a, 100)}%` }),
  h("span", { class: "planned", style: `left:${Math.min(p, 100)}%` }));
}

function flagList(flags, thresholds, compact = false) {
  const raised = Object.entries(flags).filter(([, on]) => on).map(([key]) => key);
  if (compact) {
    return raised.length ? h("p", { class: "flags-compact" }, raised.map((k) => h("span", {}, "⚠ ", t(`flags.${k}`, { days: thresholds.stale_days })))) : null;
  }
  if (!raised.length) return h("p", { class: "flags ok" }, "✓ ", t("flags.none"));
  return h("div", { class: "flags", role: "note" },
    h("strong", {}, t("flags.title")),
    h("ul", {}, raised.map((k) => h("li", {}, t(`flags.${k}`, { days: thresholds.stale_days })))));
}

function sampleBadge(isSample) {
  return isSample ? h("span", { class: "sample-badge" }, t("sample.badge")) : null;
}

// ---- projects at a spot, and search results -----------------------------------------------

export function showList(title, features, colors, onOpen, note = null) {
  const items = features.map((f) => {
    const p = f.properties;
    return h("li", {},
      h("button", { type: "button", class: "project-item", onclick: () => onOpen(p.code) },
        h("span", { class: "item-title" }, p.title),
        h("span", { class: "item-meta" }, categoryChip(p.category, colors), statusChip(p.status),
          p.distance_m !== undefined ? h("span", { class: "muted" }, t("panel.distance", { m: count(Math.round(p.distance_m)) })) : null),
        h("span", { class: "item-agency" }, name(p.agency.name)),
        h("span", { class: "item-money" }, `${t("project.budget")} ${money(p.budget, p.currency)} · ${t("project.spent")} ${money(p.spent, p.currency)}`),
        progressBar(p.progress_actual, p.progress_planned),
        h("span", { class: "item-progress" }, t("project.progressText", { a: percent(p.progress_actual), p: percent(p.progress_planned) })),
        flagList(p.flags, config.thresholds, true)));
  });
  show(h("div", { class: "panel-head" }, h("h2", { id: "panel-title", tabindex: "-1" }, title), closeButton()),
    note ? h("p", { class: "muted" }, note) : null,
    features.length ? h("ul", { class: "project-list" }, items) : h("p", {}, t("panel.nothing")));
  focusTitle();
}

// ---- one project's disclosure -------------------------------------------------------------

function row(name, value) {
  return [h("dt", {}, name), h("dd", {}, value ?? "–")];
}

function daysText(p) {
  if (p.days_elapsed === null || p.days_elapsed === undefined) return t("project.notStarted");
  const parts = [t("project.daysElapsed", { n: count(p.days_elapsed) })];
  if (p.days_remaining !== null && p.days_remaining !== undefined) {
    parts.push(p.days_remaining >= 0 ? t("project.daysRemaining", { n: count(p.days_remaining) })
      : t("project.daysOverdue", { n: count(-p.days_remaining) }));
  }
  return parts.join(" · ");
}

// Why a report's photo may not show the works: how far away, or on what day, it was taken.
export function photoFlags(flags) {
  if (!flags) return null;
  const said = [];
  if (flags.far_m !== null) {
    const distance = flags.far_m < 1000 ? `${count(flags.far_m)} m` : `${count(Math.round(flags.far_m / 100) / 10)} km`;
    said.push(t("project.photoFar", { distance }));
  }
  if (flags.outside_on !== null) said.push(t("project.photoOutside", { date: date(flags.outside_on) }));
  return said.length ? h("p", { class: "photo-flag", role: "note" }, "⚠ ", said.join(" · ")) : null;
}

function documents(docs) {
  if (!docs.length) return h("p", { class: "muted" }, t("project.noDocuments"));
  return h("ul", { class: "documents" }, docs.map((d) => h("li", {},
    d.url && d.document_type === "illustration" && (d.media_type || "").startsWith("image/")
      ? h("a", { href: d.url, target: "_blank", rel: "noopener" },
        h("img", { src: d.thumbnail_url || d.url, alt: d.title, loading: "lazy", width: 160, height: 100 }))
      : null,
    d.url ? h("a", { href: d.url, target: "_blank", rel: "noopener" }, d.title) : d.title,
    h("span", { class: "muted" }, ` · ${date(d.published_on)}`),
    photoFlags(d.photo_flags))));
}

// Money and dates beside their baseline (as first published), with every revision's reason.
const REVISED = { budget: "project.budget", contract_value: "project.contractValue",
  planned_start: "project.plannedStart", planned_end: "project.plannedEnd" };

function revisedValue(field, value, currency) {
  if (value === null || value === undefined) return "–";
  return field.endsWith("_start") || field.endsWith("_end") ? date(value) : money(value, currency);
}

function revisions(p) {
  if (!p.revisions || !p.revisions.length) return null;
  const changed = Object.keys(REVISED).filter((f) => p.revisions.some((r) => f in r.fields));
  return h("section", { class: "revisions" }, h("h3", {}, t("project.revisions")),
    h("dl", {}, changed.flatMap((f) => row(t(REVISED[f]), t("project.baselineNow", {
      was: revisedValue(f, p.baseline?.[f], p.currency), now: revisedValue(f, p[f], p.currency),
    })))),
    h("ol", { class: "history" }, p.revisions.map((r) => h("li", {},
      h("time", { datetime: r.at }, date(r.at)), " ",
      Object.entries(r.fields).filter(([f]) => f in REVISED).map(([f, [from, to]]) =>
        `${t(REVISED[f])} ${revisedValue(f, from, p.currency)} → ${revisedValue(f, to, p.currency)}`).join(", "),
      r.reason ? h("span", { class: "note" }, ` – ${r.reason}`) : null))));
}

function history(p) {
  if (!p.reports.length) return h("p", { class: "muted" }, t("project.noHistory"));
  return h("ol", { class: "history", reversed: true }, [...p.reports].reverse().map((r) => h("li", {},
    h("time", { datetime: r.reported_on }, date(r.reported_on)), " ",
    t("project.historyEntry", { a: percent(r.actual), p: percent(r.planned), s: money(r.spent_to_date, p.currency) }),
    r.note ? h("span", { class: "note" }, ` – ${r.note}`) : null)));
}

// The other works at this place within the dig-once window: when the street was also dug, and
// for what (a clash, a dig-once opportunity, a protected street dug up). A work met in two ways
// (a clash on a protected street) is listed once, with both.
function samePlace(p, colors) {
  const byCode = new Map();
  for (const o of p.same_place || []) {
    const seen = byCode.get(o.code);
    if (seen) seen.kinds.push(o.kind);
    else byCode.set(o.code, { ...o, kinds: [o.kind] });
  }
  const others = [...byCode.values()];
  return h("section", { class: "same-place" }, h("h3", {}, t("disclosure.same_place")),
    others.length
      ? h("ul", { class: "same-place-list" }, others.map((o) => h("li", {},
        h("a", { href: `/?${new URLSearchParams({ project: o.code, lang })}` }, o.title),
        h("span", { class: "item-meta" }, categoryChip(o.category, colors), statusChip(o.status)),
        h("span", { class: "same-when" }, t("disclosure.same_place_when", {
          start: date(o.start), end: date(o.end), m: count(Math.round(Number(o.distance_m))),
        })),
        o.kinds.map((kind) => h("span", { class: `same-kind same-${kind}` }, t(`conflict.${kind}`))))))
      : h("p", { class: "muted" }, t("disclosure.same_place_none")));
}

export function showProject(feature, colors, onBack) {
  const p = feature.properties;
  const spentShare = Number(p.budget) > 0 ? (Number(p.spent) * 100) / Number(p.budget) : 0;
  const agencyName = name(p.agency.name);
  const districtName = name(p.district?.name);
  show(
    h("div", { class: "panel-head" },
      onBack ? h("button", { type: "button", class: "back", onclick: onBack }, "← ", t("panel.back")) : h("span"),
      closeButton()),
    h("article", { class: "disclosure", "aria-labelledby": "panel-title" },
      h("h2", { id: "panel-title", tabindex: "-1" }, p.title),
      p.withdrawn_at ? h("p", { class: "withdrawn", role: "note" },
        t("project.withdrawn", { date: date(p.withdrawn_at), reason: p.withdrawn_reason })) : null,
      h("p", { class: "item-meta" }, categoryChip(p.category, colors), statusChip(p.status), sampleBadge(p.is_sample)),
      h("p", { class: "muted" }, `${t("project.code")} ${p.code} · ${label(config.project_types[p.project_type])}`),
      p.description ? h("p", {}, p.description) : null,
      flagList(p.flags, config.thresholds),
      h("section", {}, h("h3", {}, t("project.progress")),
        progressBar(p.progress_actual, p.progress_planned),
        h("p", {}, t("project.progressText", { a: percent(p.progress_actual), p: percent(p.progress_planned) }))),
      h("section", {}, h("h3", {}, t("project.cost")),
        h("dl", {}, row(t("project.budget"), money(p.budget, p.currency)),
          row(t("project.contractValue"), money(p.contract_value, p.currency)),
          row(t("project.spent"), money(p.spent, p.currency)),
          row(t("project.remaining"), money(p.remaining, p.currency))),
        h("div", { class: `spend ${spentShare > 100 ? "over" : ""}`, role: "img", "aria-label": t("project.spentShare", { p: percent(spentShare) }) },
          h("span", { style: `width:${Math.min(spentShare, 100)}%` })),
        h("p", { class: "muted" }, t("project.spentShare", { p: percent(spentShare) }))),
      h("section", {}, h("h3", {}, t("project.schedule")),
        h("dl", {}, row(t("project.plannedDates"), `${date(p.planned_start)} – ${date(p.planned_end)}`),
          row(t("project.actualDates"), p.actual_start ? `${date(p.actual_start)} – ${p.actual_end ? date(p.actual_end) : ""}` : t("project.notStarted"))),
        h("p", {}, daysText(p))),
      revisions(p),
      samePlace(p, colors),
      h("section", {}, h("h3", {}, t("project.responsible")),
        h("dl", {}, row(t("project.agency"), [agencyName, p.agency_phone ? ` (${p.agency_phone})` : ""].join("")),
          row(t("project.contractor"), p.contractor),
          row(t("project.supervisor"), p.supervisor),
          row(t("project.officer"), p.officer.name ? h("span", {}, p.officer.name, " ",
            p.officer.phone ? h("a", { href: `tel:${p.officer.phone}`, "aria-label": t("project.call", { phone: p.officer.phone }) }, p.officer.phone) : null) : null),
          row(t("project.address"), [p.address, districtName && `(${districtName})`].filter(Boolean).join(" ")))),
      h("section", {}, h("h3", {}, t("project.documents")), documents(p.documents)),
      h("section", {}, h("h3", {}, t("project.history")), history(p)),
      h("p", { class: "muted" }, t("project.updated", { date: date(p.updated_at) })),
      h("p", { class: "actions" },
        h("a", { class: "button", href: `/projects/${encodeURIComponent(p.code)}/sheet?lang=${lang}`, target: "_blank", rel: "noopener" }, t("project.sheet")),
        h("button", { type: "button", onclick: (e) => copyLink(e.currentTarget) }, t("project.share")),
        // who signed in to the editor in this tab goes from the disclosure to the project's form
        signedIn() && !p.is_sample ? h("a", { class: "button", href: `/edit?project=${encodeURIComponent(p.code)}` }, t("editor.edit")) : null)),
  );
  focusTitle();
}

async function copyLink(button) {
  try {
    await navigator.clipboard.writeText(location.href);
    button.textContent = t("project.shared");
  } catch {
    window.prompt(t("project.share"), location.href);
  }
}

export function showMessage(text) {
  show(h("div", { class: "panel-head" }, h("h2", { id: "panel-title", tabindex: "-1" }, text), closeButton()));
  focusTitle();
}

// ---- a district's totals ------------------------------------------------------------------

export function showDistrict(feature, onList) {
  const d = feature.properties;
  const area = name(d.name);
  show(
    h("div", { class: "panel-head" },
      h("div", {}, h("p", { class: "muted level" }, name(config.jurisdiction.levels[0])),
        h("h2", { id: "panel-title", tabindex: "-1" }, t("district.totals", { name: area }))),
      closeButton()),
    h("dl", { class: "totals" },
      row(t("district.projects"), count(d.projects)),
      row(t("district.active"), count(d.active)),
      row(t("district.budget"), money(d.budget, config.jurisdiction.currency)),
      row(t("district.spent"), money(d.spent, config.jurisdiction.currency)),
      row(t("district.flagged"), count(d.flagged))),
    h("button", { type: "button", onclick: onList }, t("district.list", { name: area })),
    h("p", { class: "muted" }, t("panel.intro.text")),
  );
  focusTitle();
}
