// The map's Subscribe button: the Atom feed of the changes in the view (the circle around the
// map's centre that covers it, and the agency filter in force), as a link a feed reader takes
// and an address to copy, in a dialog the keyboard opens, walks and closes (Escape).
import { count, h } from "./format.js";
import { lang, name, t } from "./i18n.js";

const FEED = "/api/feeds/changes.atom";
const MAX_RADIUS_M = 20000; // geo/feeds.py: a wider view follows the whole city

// The feed of what ``leaflet`` shows, with ``state``'s agency filter: its path, and the circle's
// radius in metres (null when the view is wider than a feed's circle).
export function viewFeed(leaflet, state) {
  const centre = leaflet.getCenter().wrap();
  const bounds = leaflet.getBounds();
  const corners = [bounds.getNorthEast(), bounds.getNorthWest(), bounds.getSouthEast(), bounds.getSouthWest()];
  // +1 m: the centre is rounded to 6 decimals (0.1 m)
  const radius = Math.ceil(Math.max(...corners.map((c) => leaflet.distance(centre, c)))) + 1;
  const params = new URLSearchParams({ lang });
  const within = radius <= MAX_RADIUS_M ? radius : null;
  if (within) params.set("circle", [centre.lng.toFixed(6), centre.lat.toFixed(6), within].join(","));
  if (state.agency) params.set("agency", state.agency);
  return { path: `${FEED}?${params}`, radius: within };
}

function dialogFor(button, leaflet, config, state) {
  const { path, radius } = viewFeed(leaflet, state);
  const address = new URL(path, location.href).href;
  const agency = config.agencies.find((a) => a.code === state.agency);
  const status = h("p", { id: "subscribe-status", role: "status" });
  const field = h("input", { id: "subscribe-url", value: address, readonly: true, size: 48 });
  const copy = async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(address);
      status.textContent = t("subscribe.copied");
    } catch {
      status.textContent = t("subscribe.failed");
    }
  };
  const dialog = h("dialog", { id: "subscribe-dialog", "aria-labelledby": "subscribe-title" },
    h("h2", { id: "subscribe-title" }, t("subscribe.title")),
    h("p", { id: "subscribe-scope" },
      radius ? t("subscribe.circle", { radius: count(radius) }) : t("subscribe.city"),
      agency ? ` ${t("subscribe.agency", { agency: name(agency.name) })}` : ""),
    h("p", { class: "muted" }, t("feed.subtitle")),
    h("p", {}, h("a", { id: "subscribe-link", href: path, type: "application/atom+xml" }, t("subscribe.open"))),
    h("label", { for: "subscribe-url" }, t("subscribe.address")),
    h("p", {}, field, " ", h("button", { type: "button", id: "subscribe-copy", onclick: copy }, t("subscribe.copy"))),
    status,
    h("p", {}, h("a", { href: `/downloads?${new URLSearchParams({ lang })}` }, t("tools.openData"))),
    h("button", { type: "button", onclick: () => dialog.close() }, t("panel.close")));
  // Escape closes the dialog, not the project open behind it
  dialog.addEventListener("keydown", (e) => e.stopPropagation());
  dialog.addEventListener("close", () => {
    dialog.remove();
    button.focus();
  });
  return dialog;
}

// Wires ``button`` to open the dialog for the view of ``leaflet`` (the public map's) as it is then.
export function setup(button, leaflet, config, state) {
  button.addEventListener("click", () => {
    const dialog = dialogFor(button, leaflet, config, state);
    document.body.append(dialog);
    dialog.showModal();
  });
}
