// Fetching JSON from Allimi's API; a newer request of the same kind aborts the older one.
const pending = new Map();

export async function getJson(url, kind = null) {
  let signal;
  if (kind) {
    pending.get(kind)?.abort();
    const controller = new AbortController();
    pending.set(kind, controller);
    signal = controller.signal;
  }
  const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw Object.assign(new Error(problem.detail || response.statusText), { status: response.status });
  }
  return response.json();
}

export function isAbort(error) {
  return error?.name === "AbortError";
}
