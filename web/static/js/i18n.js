// Messages per language, loaded from /static/i18n/{lang}.json. A language is added by adding
// its file there (the server lists the files in /api/config).
export const LANGUAGES = [];
const LOCALES = { ko: "ko-KR", en: "en-GB" };
let messages = {};
export let lang = "ko";

export function pickLanguage(requested) {
  const wanted = [requested, localStorage.getItem("allimi.lang"), ...(navigator.languages || [])];
  for (const code of wanted) {
    const short = (code || "").slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(short)) return short;
  }
  return LANGUAGES.includes("ko") ? "ko" : LANGUAGES[0];
}

export async function load(code) {
  const response = await fetch(`/static/i18n/${code}.json`);
  messages = await response.json();
  lang = code;
  localStorage.setItem("allimi.lang", code);
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

export function t(key, vars = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// A vocabulary entry ({ko, en}) in the current language.
export function label(term) {
  return term ? term[lang] ?? term.en : "";
}

export function locale() {
  return LOCALES[lang] || lang;
}
