// A place's timeline (GET /api/timeline) drawn with vis-timeline (its peer build, with moment and
// vis-data: pinned in web/package.json, served from /vendor/: the global ``vis``): each work in a row of its own, its bar
// tinted with its category's colour, the protected periods (moratoria) as background ranges
// across every row, and the conflicting pair marked. Every label is an element built with h()
// (text nodes), never HTML: vis-timeline appends an element as it is.
import { date, h } from "./format.js";
import { label, lang, locale, t } from "./i18n.js";

const DAY = 24 * 3600 * 1000;
const PAD_DAYS = 45; // around the pair when the timeline opens on it

// "2026-03-05" as local midnight (vis-timeline draws in the browser's time zone)
function day(text) {
  const [y, m, d] = text.split("-").map(Number);
  return new Date(y, m - 1, d);
}

const after = (text) => new Date(day(text).getTime() + DAY); // a period's last day, included

// A category's colour mixed with white: dark text stays readable on the bar.
function tint(hex, share = 0.28) {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const mixed = rgb.map((c) => Math.round(c * share + 255 * (1 - share)));
  return `#${mixed.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

function formatter(options) {
  const f = new Intl.DateTimeFormat(locale(), options);
  return (value) => f.format(value.toDate ? value.toDate() : value);
}

// The axis in the page's language (Intl), whatever locales the bundled moment knows.
function axisFormat() {
  const dayOf = formatter({ day: "numeric" });
  const dayMonth = formatter({ day: "numeric", month: "short" });
  const month = formatter({ month: "short" });
  const monthYear = formatter({ month: "long", year: "numeric" });
  const year = formatter({ year: "numeric" });
  return {
    minorLabels: (d, scale) => ({ day: dayOf, weekday: dayOf, week: dayMonth, month, year }[scale] || dayMonth)(d),
    majorLabels: (d, scale) => ({ day: monthYear, weekday: monthYear, week: monthYear, month: year }[scale]?.(d) ?? ""),
  };
}

// The timeline in ``container``. ``config`` is /api/config (categories and their colours);
// ``onSelect(code)`` answers a click on a work; ``room()`` is the height it may take (px).
export function createTimeline(container, { config, onSelect = () => {}, room = () => 300 }) {
  let timeline = null;
  let pairWindow = null;
  const items = new vis.DataSet();
  const groups = new vis.DataSet();

  function ensure() {
    if (timeline) return;
    timeline = new vis.Timeline(container, items, groups, {
      locale: lang,
      locales: { [lang]: { current: t("timeline.current"), time: t("timeline.time"), deleteSelected: "" } },
      format: axisFormat(),
      orientation: { axis: "top", item: "top" },
      stack: false,
      selectable: true,
      editable: false,
      showCurrentTime: true,
      zoomMin: 14 * DAY,
      zoomMax: 40 * 365 * DAY,
      verticalScroll: true,
      maxHeight: room(),
      margin: { item: { horizontal: 0, vertical: 4 } },
      groupHeightMode: "fixed",
    });
    timeline.on("select", ({ items: chosen }) => {
      const item = chosen.length ? items.get(chosen[0]) : null;
      if (item?.code) onSelect(item.code);
    });
  }

  function workLabel(work, inPair) {
    return h("span", { class: `tl-work${inPair ? " tl-pair" : ""}`, title: `${work.title} · ${work.code}` },
      h("span", { class: "tl-title" }, inPair ? h("span", { class: "tl-mark", "aria-hidden": "true" }, "◆ ") : null, work.title),
      h("span", { class: "tl-code" }, work.code));
  }

  function zoneLabel(zone, titles) {
    const what = zone.source === "drawn"
      ? t("timeline.zoneDrawn", { reason: zone.reason || "" })
      : t("timeline.zoneWork", { title: titles[zone.project] || zone.project });
    return h("span", { class: "tl-zone-label", title: `${what} · ${date(zone.start)} – ${date(zone.end)}` }, what);
  }

  // Shows ``data`` (/api/timeline); ``pair`` names the codes of the conflicting works, ``zone``
  // the conflict's zone ({project} or {id}) to mark.
  function show(data, { pair = [], zone = null } = {}) {
    ensure();
    timeline.setOptions({ maxHeight: room() });
    const titles = Object.fromEntries(data.works.map((w) => [w.code, w.title]));
    const colour = (code) => config.categories[code]?.color || "#7b8794";
    groups.clear();
    items.clear();
    groups.add(data.works.map((w, i) => ({
      id: w.code, order: i, content: workLabel(w, pair.includes(w.code)),
      className: pair.includes(w.code) ? "tl-pair-row" : "",
    })));
    items.add(data.works.map((w) => ({
      id: `work:${w.code}`, code: w.code, group: w.code, type: "range",
      start: day(w.start), end: after(w.end),
      content: h("span", { class: "tl-bar", title: `${w.title} · ${date(w.start)} – ${date(w.end)}` },
        label(config.categories[w.category]) || w.category),
      style: `background-color:${tint(colour(w.category))};border-color:${colour(w.category)}`,
      className: `tl-item${pair.includes(w.code) ? " tl-pair-item" : ""}`,
    })));
    items.add(data.zones.map((z, i) => {
      const marked = zone && ((zone.id && z.id === zone.id) || (zone.project && z.project === zone.project));
      return {
        id: `zone:${i}`, type: "background", start: day(z.start), end: after(z.end),
        content: zoneLabel(z, titles), className: `tl-zone${marked ? " tl-zone-marked" : ""}`,
      };
    }));
    // open on the pair (and its zone), a little either side; else on everything
    const marked = [...data.works.filter((w) => pair.includes(w.code)),
      ...data.zones.filter((z) => zone && ((zone.id && z.id === zone.id) || (zone.project && z.project === zone.project)))];
    if (marked.length) {
      const start = Math.min(...marked.map((m) => day(m.start).getTime())) - PAD_DAYS * DAY;
      const end = Math.max(...marked.map((m) => after(m.end).getTime())) + PAD_DAYS * DAY;
      pairWindow = { start, end };
      timeline.setWindow(start, end, { animation: false });
    } else {
      pairWindow = null;
      timeline.fit({ animation: false });
    }
    timeline.setSelection([]);
  }

  return {
    show,
    whole: () => timeline?.fit({ animation: true }),
    pair: () => pairWindow && timeline?.setWindow(pairWindow.start, pairWindow.end),
    resize: () => timeline?.setOptions({ maxHeight: room() }),
    destroy: () => {
      timeline?.destroy();
      timeline = null;
    },
  };
}
