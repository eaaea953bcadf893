// The city's languages (config.jurisdiction.languages, its default first) and their messages,
// from /static/i18n/{lang}.json. Each message file names its language ("language.name") and the
// locale its numbers and dates follow ("locale"). The current language is kept here, once a
// page: it is the page's, not a map's (every map and panel on the page speaks it).
const STORED = "allimi.lang";
const files = {}; // lang -> its messages
let offered = [];
let vars = {}; // what every message may name: {city}, {level}
export let lang = null;

// The language to show: ?lang= (passed in), then the citizen's last choice, then the browser's,
// then the city's default. "vi-VN" asks for "vi".
function pickLanguage(requested) {
  const wanted = [requested, localStorage.getItem(STORED), ...(navigator.languages || [])];
  for (const code of wanted.filter(Boolean).map((c) => c.toLowerCase())) {
    const found = offered.find((o) => o.toLowerCase() === code)
      || offered.find((o) => o.toLowerCase() === code.split("-")[0]);
    if (found) return found;
  }
  return offered[0];
}

// Loads every offered language's messages (they are small, and the switch names each language
// in its own words), then shows ``pickLanguage(requested)``.
export async function setup(jurisdiction, requested) {
  offered = jurisdiction.languages;
  await Promise.all(offered.map(async (code) => {
    const response = await fetch(`/static/i18n/${encodeURIComponent(code)}.json`);
    files[code] = await response.json();
  }));
  apply(pickLanguage(requested), jurisdiction);
}

export function languages() {
  return offered.map((code) => ({ code, name: files[code]["language.name"] || code }));
}

// Shows ``code``; ``remember`` keeps it for the citizen's next visit.
export function apply(code, jurisdiction, remember = false) {
  lang = code;
  if (remember) localStorage.setItem(STORED, code);
  vars = { city: name(jurisdiction.name), level: name(jurisdiction.levels[0]) };
  document.documentElement.lang = code;
  document.title = t("app.title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}

export function t(key, values = {}) {
  const text = files[lang]?.[key] ?? files[offered[0]]?.[key] ?? key;
  const all = { ...vars, ...values };
  return text.replace(/\{(\w+)\}/g, (_, k) => String(all[k] ?? ""));
}

// Translations ({lang: text}: an agency's or a district's name) in the current language, else
// the city's default, else any.
export function name(values) {
  if (!values) return "";
  return values[lang] ?? values[offered[0]] ?? Object.values(values)[0] ?? "";
}

// A vocabulary term ({label: {lang: text}, oc4ids}) in the current language.
export function label(term) {
  return name(term?.label);
}

export function locale() {
  return files[lang]?.locale || lang;
}
