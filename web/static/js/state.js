// The view's state in the URL (map position, filters, open project, view, language), so
// every view can be shared and reloaded.
const KEYS = ["lang", "lat", "lon", "z", "q", "category", "status", "agency", "active_on",
  "flagged", "measure", "project", "view"];

export const state = Object.fromEntries(KEYS.map((k) => [k, null]));

export function readUrl() {
  const params = new URLSearchParams(location.search);
  for (const key of KEYS) state[key] = params.get(key);
}

export function writeUrl() {
  const params = new URLSearchParams();
  for (const key of KEYS) if (state[key]) params.set(key, state[key]);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

// The filters of a view's state (``from``: the page's, or a map's own) as API query parameters
// (shared by map layers, list view and search).
export function filterParams(from, extra = {}) {
  const params = new URLSearchParams();
  for (const key of ["category", "status", "agency", "active_on", "flagged", "q"]) {
    if (from[key]) params.set(key, from[key]);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}
