// Numbers, money and dates as a citizen reads them in the current language.
import { lang, locale } from "./i18n.js";

export function money(amount, currency = "KRW") {
  if (amount === null || amount === undefined) return "–";
  const value = Number(amount);
  if (lang === "ko" && currency === "KRW") return won(value);
  return new Intl.NumberFormat(locale(), {
    style: "currency", currency, notation: "compact", maximumFractionDigits: 2,
  }).format(value);
}

// 1,330,000,000 → "13억 3,000만 원"
function won(value) {
  const eok = Math.floor(value / 1e8);
  const man = Math.round((value % 1e8) / 1e4);
  const parts = [];
  if (eok) parts.push(`${eok.toLocaleString("ko-KR")}억`);
  if (man) parts.push(`${man.toLocaleString("ko-KR")}만`);
  return parts.length ? `${parts.join(" ")} 원` : `${Math.round(value).toLocaleString("ko-KR")} 원`;
}

export function percent(value) {
  return Number(value).toLocaleString(locale(), { maximumFractionDigits: 1 });
}

export function date(value) {
  if (!value) return "–";
  return new Date(`${value.slice(0, 10)}T00:00:00`).toLocaleDateString(locale(), {
    year: "numeric", month: "short", day: "numeric",
  });
}

export function count(value) {
  return Number(value).toLocaleString(locale());
}

// Build DOM from a tag, attributes and children, so data is never parsed as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "style") el.style.cssText = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
