// The list view: the projects in the current map view as a sortable table, the accessible
// alternative to the map.
import { getJson, isAbort } from "./api.js";
import { count, date, h, money, percent } from "./format.js";
import { label, name, t } from "./i18n.js";
import { filterParams, state } from "./state.js";

const COLUMNS = [
  { key: "title", sort: "title" },
  { key: "category" },
  { key: "status" },
  { key: "agency" },
  { key: "budget", sort: "budget", numeric: true },
  { key: "progress", sort: "progress", numeric: true },
  { key: "end", sort: "end" },
];

let sort = "-budget";
let next = null;
let shown = 0;

export function renderHead(onSort) {
  const row = document.querySelector("#list-table thead tr");
  row.replaceChildren(...COLUMNS.map((col) => {
    const name = t(`col.${col.key}`);
    if (!col.sort) return h("th", { scope: "col" }, name);
    const active = sort.replace("-", "") === col.sort;
    const descending = sort.startsWith("-");
    return h("th", {
      scope: "col", class: col.numeric ? "num" : null,
      "aria-sort": active ? (descending ? "descending" : "ascending") : "none",
    }, h("button", {
      type: "button", "aria-label": t("list.sortBy", { col: name }),
      onclick: () => {
        sort = active && !descending ? `-${col.sort}` : col.sort;
        onSort();
      },
    }, name, active ? (descending ? " ▼" : " ▲") : ""));
  }));
}

function rowFor(feature, config, onOpen) {
  const p = feature.properties;
  return h("tr", {},
    h("td", {}, h("button", { type: "button", class: "link", onclick: () => onOpen(p.code) }, p.title)),
    h("td", {}, label(config.categories[p.category])),
    h("td", {}, label(config.statuses[p.status])),
    h("td", {}, name(p.agency.name)),
    h("td", { class: "num" }, money(p.budget, p.currency)),
    h("td", { class: "num" }, percent(p.progress_actual)),
    h("td", {}, date(p.planned_end)));
}

export async function load(bbox, config, onOpen, append = false) {
  const body = document.querySelector("#list-table tbody");
  const url = append && next ? next : `/api/projects?${filterParams(state, { bbox, sort, limit: 50 })}`;
  try {
    const page = await getJson(url, "list");
    if (!append) {
      body.replaceChildren();
      shown = 0;
    }
    for (const feature of page.features) body.append(rowFor(feature, config, onOpen));
    shown += page.features.length;
    next = page.links.find((l) => l.rel === "next")?.href || null;
    const more = document.getElementById("list-more");
    more.hidden = !next;
    // numberMatched is left out when too many match to count them cheaply
    const matched = page.numberMatched;
    document.getElementById("list-count").textContent = matched === undefined
      ? t("list.countMany", { shown: count(shown) })
      : matched ? t("list.count", { n: count(matched), shown: count(shown) }) : t("list.empty");
  } catch (error) {
    if (!isAbort(error)) console.error(error);
  }
}
