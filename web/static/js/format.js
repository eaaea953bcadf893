// Numbers, money and dates as a citizen reads them in the current language.
import { locale } from "./i18n.js";

// The rules of geo/formatting.py, with the browser's Intl (the same CLDR data); the cases in
// tests/formatting_cases.json hold both to the same strings. Amounts may be numbers or decimal
// strings (Intl formats a string exactly). Full numbers are always grouped, as Babel groups them
// (it has no CLDR minimum grouping digits): es "1.234", as in Python.
const MISSING = "—";
const COMPACT_FROM = 1e6;
const tidy = (text) => text.replace(/[\u0020\u202f]/g, "\u00a0");
const missing = (value) => value === null || value === undefined || value === "";

// As people read large amounts: below a million in full (fraction digits only when the amount is
// not whole), from a million the long compact number where the locale puts a currency's number.
// ko KRW 1,330,000,000 → "₩13.3억"; vi VND 12,500,000,000 → "12,5 tỷ ₫"
export function money(amount, currency, loc = locale()) {
  if (missing(amount)) return MISSING;
  const value = Number(amount);
  if (Math.abs(value) < COMPACT_FROM) {
    return tidy(new Intl.NumberFormat(loc, {
      style: "currency", currency, signDisplay: "negative", trailingZeroDisplay: "stripIfInteger",
      useGrouping: "always",
    }).format(amount));
  }
  const number = new Intl.NumberFormat(loc, {
    notation: "compact", compactDisplay: "long", maximumFractionDigits: 2, signDisplay: "never",
  }).format(amount);
  const unit = new Intl.NumberFormat(loc, {
    style: "currency", currency, minimumFractionDigits: 0, maximumFractionDigits: 0,
  }).formatToParts(value < 0 ? -1 : 1);
  return tidy(unit.map((part) => (part.type === "integer" ? number : part.value)).join(""));
}

// The full amount with the currency's own fraction digits: "₩1,330,000,000", "฿12.50".
export function exactMoney(amount, currency, loc = locale()) {
  if (missing(amount)) return MISSING;
  return tidy(new Intl.NumberFormat(loc, {
    style: "currency", currency, signDisplay: "negative", useGrouping: "always",
  }).format(amount));
}

// A value already in percent, in the locale's percent form: 12.25 → "12.3%" (de: "12,3 %").
export function percent(value, loc = locale()) {
  if (missing(value)) return MISSING;
  const parts = new Intl.NumberFormat(loc, {
    maximumFractionDigits: 1, signDisplay: "negative", useGrouping: "always",
  }).formatToParts(value);
  const number = parts.filter((part) => part.type !== "minusSign").map((part) => part.value).join("");
  const negative = parts.some((part) => part.type === "minusSign");
  const unit = new Intl.NumberFormat(loc, { style: "percent" }).formatToParts(negative ? -0.01 : 0.01);
  return tidy(unit.map((part) => (part.type === "integer" ? number : part.value)).join(""));
}

export function count(value, loc = locale()) {
  if (missing(value)) return MISSING;
  return tidy(new Intl.NumberFormat(loc, { useGrouping: "always" }).format(value));
}

// A count short enough for a map marker: in full below 10,000, then compact to three digits
// (1.08M, 108만, 24,5 N); the exact count goes in the marker's title
export function compact(value, loc = locale()) {
  if (missing(value) || Math.abs(value) < 10000) return count(value, loc);
  return tidy(new Intl.NumberFormat(loc, { notation: "compact", maximumSignificantDigits: 3 }).format(value));
}

// The city's time zone (from /api/config), for the day an instant falls on there. Kept here,
// once a page: a page shows one city, whatever maps it holds.
let cityTimeZone;

export function setTimeZone(zone) {
  cityTimeZone = zone;
}

// A calendar day ("2026-03-05") as it is written; an instant ("2026-03-05T20:30:00+00:00") as
// the day it was in the city's time zone, wherever the reader's browser is.
export function date(value, loc = locale(), zone = cityTimeZone) {
  if (!value) return "–";
  const options = { year: "numeric", month: "short", day: "numeric" };
  if (value.length <= 10) {
    return new Date(`${value}T00:00:00Z`).toLocaleDateString(loc, { ...options, timeZone: "UTC" });
  }
  return new Date(value).toLocaleDateString(loc, { ...options, timeZone: zone });
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
