// The admins' page: sign in (the token is kept for this tab only, in sessionStorage, and sent as
// a bearer token), then keep the agencies and the accounts through /api/admin/*. The page is a
// static shell: without an admin's token it shows nothing but the sign-in form.
import { getJson } from "./api.js";
import { h } from "./format.js";
import { languages, name, setup as setupLanguage, t } from "./i18n.js";

const TOKEN = "allimi.adminToken";
const $ = (selector) => document.querySelector(selector);
let agencies = [];
let accounts = [];
let editingAgency = null; // the code of the agency the form edits, null when it adds one
let editingAccount = null; // the id of the account the form edits

class Refusal extends Error {
  constructor(status, problem) {
    super(problem.detail || String(status));
    this.status = status;
    this.errors = problem.errors || [];
  }
}

async function call(method, url, body) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${sessionStorage.getItem(TOKEN)}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (response.status === 401) {
    showSignIn(t("admin.sessionEnded"));
    throw new Refusal(401, data);
  }
  if (!response.ok) throw new Refusal(response.status, data);
  return data;
}

// What a change did, said where the admin made it (and read out by screen readers).
function say(text, where = $("#status")) {
  for (const el of document.querySelectorAll(".status")) el.textContent = "";
  where.textContent = text;
}

// ---- signing in ---------------------------------------------------------------------------

function showSignIn(message = "") {
  sessionStorage.removeItem(TOKEN);
  $("#signed-in").hidden = true;
  $("#account-tools").hidden = true;
  const form = $("#sign-in");
  form.hidden = false;
  $("#sign-in-error").textContent = message;
  form.elements.username.focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#sign-in-error");
  error.textContent = "";
  const response = await fetch("/api/auth/token", {
    method: "POST",
    headers: { Accept: "application/json" },
    body: new URLSearchParams({ username: form.elements.username.value, password: form.elements.password.value }),
  });
  if (response.ok) {
    sessionStorage.setItem(TOKEN, (await response.json()).access_token);
    form.reset();
    await start();
  } else if (response.status === 429) {
    error.textContent = t("admin.wait", { n: response.headers.get("Retry-After") || "60" });
  } else if (response.status === 401) {
    error.textContent = t("admin.wrongSignIn");
  } else {
    error.textContent = (await response.json().catch(() => ({}))).detail || response.statusText;
  }
}

async function signOut() {
  await call("POST", "/api/auth/logout").catch(() => {});
  showSignIn();
  say(t("admin.signedOut"));
}

async function start() {
  if (!sessionStorage.getItem(TOKEN)) return showSignIn();
  let me;
  try {
    me = await call("GET", "/api/auth/me");
  } catch {
    return undefined; // call() has shown the sign-in form
  }
  if (me.role !== "admin") return showSignIn(t("admin.notAdmin", { email: me.email }));
  $("#sign-in").hidden = true;
  $("#who").textContent = t("admin.signedInAs", { name: me.name, email: me.email });
  $("#account-tools").hidden = false;
  $("#signed-in").hidden = false;
  await load();
  $("#agencies-title").focus();
  return undefined;
}

async function load() {
  [agencies, accounts] = await Promise.all([call("GET", "/api/admin/agencies"), call("GET", "/api/admin/users")]);
  showAgencies();
  showAccounts();
}

// ---- showing the problems of a refused form ----------------------------------------------

function clearProblems(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.setAttribute("aria-describedby", (el.dataset.describedby || "").trim());
    if (!el.getAttribute("aria-describedby")) el.removeAttribute("aria-describedby");
  }
  form.querySelector(".form-error").textContent = "";
}

// Each problem next to its field (the API names it: "email", "name.ko"); the rest, and a
// summary, at the form's foot.
function showProblems(form, refusal) {
  clearProblems(form);
  const loose = [];
  let first = null;
  for (const { parameter, reason } of refusal.errors) {
    const field = form.elements[parameter];
    if (!field || field.hidden || field.closest("[hidden]")) {
      loose.push(`${parameter}: ${reason}`);
      continue;
    }
    const id = `${form.id}-${parameter.replace(/\W/g, "-")}-error`;
    field.dataset.describedby = field.dataset.describedby ?? (field.getAttribute("aria-describedby") || "");
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", `${field.dataset.describedby} ${id}`.trim());
    field.after(h("span", { class: "field-error", id }, reason));
    first ??= field;
  }
  form.querySelector(".form-error").textContent = [t("admin.notSaved"), ...loose].join(" ");
  (first || form.querySelector("button[type=submit]")).focus();
}

async function save(form, work, done) {
  clearProblems(form);
  say(""); // what an earlier change did is not news any more
  try {
    await work();
  } catch (refusal) {
    if (refusal.status !== 401) showProblems(form, refusal);
    return;
  }
  await load();
  say(done, form.querySelector(".status"));
}

// ---- agencies -----------------------------------------------------------------------------

function agencyNames(values) {
  return languages()
    .filter(({ code }) => values[code])
    .map(({ code }) => h("span", { class: "name", lang: code }, values[code]));
}

function showAgencies() {
  $("#agencies tbody").replaceChildren(...agencies.map((a) => h("tr", {},
    h("td", {}, h("code", {}, a.code)),
    h("td", {}, ...agencyNames(a.name)),
    h("td", {}, a.phone || "—"),
    h("td", { class: "num" }, a.officials),
    h("td", { class: "row-actions" }, h("button", {
      type: "button", onclick: () => editAgency(a), "aria-label": t("admin.editAgency", { code: a.code }),
    }, t("admin.edit"))),
  )));
  if (!agencies.length) $("#agencies tbody").append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("admin.none"))));
  const select = $("#account-form").elements.agency;
  const chosen = select.value;
  select.replaceChildren(...agencies.map((a) => h("option", { value: a.code }, `${name(a.name)} (${a.code})`)));
  if (chosen) select.value = chosen;
}

function agencyForm(agency = null) {
  const form = $("#agency-form");
  clearProblems(form);
  form.reset();
  editingAgency = agency?.code ?? null;
  form.elements.code.readOnly = Boolean(agency);
  form.elements.code.value = agency?.code ?? "";
  form.elements.phone.value = agency?.phone ?? "";
  for (const { code } of languages()) form.elements[`name.${code}`].value = agency?.name[code] ?? "";
  $("#agency-form-title").textContent = agency ? t("admin.editAgency", { code: agency.code }) : t("admin.addAgency");
  form.querySelector(".cancel").hidden = !agency;
}

function editAgency(agency) {
  agencyForm(agency);
  $("#agency-form").elements[`name.${languages()[0].code}`].focus();
}

function agencyNameFields() {
  $("#agency-names").replaceChildren(...languages().map(({ code, name: own }, i) => h("label", {},
    h("span", {}, t(i ? "admin.nameIn" : "admin.nameInRequired", { language: own })),
    h("input", { name: `name.${code}`, lang: code, maxlength: 200, autocomplete: "off", required: i === 0 }),
  )));
}

function submitAgency(event) {
  event.preventDefault();
  const form = event.target;
  const names = {};
  for (const { code } of languages()) {
    const value = form.elements[`name.${code}`].value.trim();
    if (value) names[code] = value;
  }
  const body = { name: names, phone: form.elements.phone.value.trim() || null };
  const code = editingAgency ?? form.elements.code.value.trim();
  const work = editingAgency
    ? () => call("PATCH", `/api/admin/agencies/${encodeURIComponent(code)}`, body)
    : () => call("POST", "/api/admin/agencies", { code, ...body });
  save(form, async () => {
    await work();
    agencyForm();
  }, t("admin.agencySaved", { code }));
}

// ---- accounts -----------------------------------------------------------------------------

function speaksFor(account) {
  if (account.agency) {
    const agency = agencies.find((a) => a.code === account.agency);
    return agency ? `${name(agency.name)} (${agency.code})` : account.agency;
  }
  return account.contractor || "—";
}

function showAccounts() {
  $("#accounts tbody").replaceChildren(...accounts.map((a) => h("tr", { class: a.active ? null : "disabled" },
    h("td", {}, a.email),
    h("td", {}, a.name),
    h("td", {}, t(`admin.role.${a.role}`)),
    h("td", {}, speaksFor(a)),
    h("td", {}, h("span", { class: `badge ${a.active ? "on" : "off"}` }, t(a.active ? "admin.active" : "admin.disabled"))),
    h("td", { class: "row-actions" },
      h("button", { type: "button", onclick: () => editAccount(a), "aria-label": t("admin.editAccount", { email: a.email }) },
        t("admin.edit")),
      h("button", {
        type: "button", onclick: () => toggle(a),
        "aria-label": t(a.active ? "admin.disableWho" : "admin.enableWho", { email: a.email }),
      }, t(a.active ? "admin.disable" : "admin.enable")),
    ),
  )));
}

// The agency for officials only, the company for contractors only.
function showRoleFields() {
  const form = $("#account-form");
  for (const label of form.querySelectorAll("[data-for-role]")) {
    label.hidden = label.dataset.forRole !== form.elements.role.value;
  }
}

function accountForm(account = null) {
  const form = $("#account-form");
  clearProblems(form);
  form.reset();
  editingAccount = account?.id ?? null;
  for (const key of ["email", "name", "role", "contractor"]) form.elements[key].value = account?.[key] ?? "";
  if (!account) form.elements.role.value = "official";
  if (account?.agency) form.elements.agency.value = account.agency;
  form.elements.email.readOnly = Boolean(account);
  form.elements.password.required = !account;
  form.querySelector(".password-label").textContent = t(account ? "admin.newPassword" : "admin.password");
  $("#account-form-title").textContent = account ? t("admin.editAccount", { email: account.email }) : t("admin.addAccount");
  form.querySelector(".cancel").hidden = !account;
  showRoleFields();
}

function editAccount(account) {
  accountForm(account);
  $("#account-form").elements.name.focus();
}

function submitAccount(event) {
  event.preventDefault();
  const form = event.target;
  const value = (key) => form.elements[key].value.trim();
  const role = value("role");
  const body = {
    name: value("name"),
    role,
    agency: role === "official" ? value("agency") || null : null,
    contractor: role === "contractor" ? value("contractor") || null : null,
  };
  const password = form.elements.password.value;
  const email = editingAccount ? accounts.find((a) => a.id === editingAccount)?.email : value("email");
  const work = editingAccount
    ? () => call("PATCH", `/api/admin/users/${editingAccount}`, password ? { ...body, password } : body)
    : () => call("POST", "/api/admin/users", { ...body, email, password });
  save(form, async () => {
    await work();
    accountForm();
  }, t("admin.accountSaved", { email }));
}

async function toggle(account) {
  try {
    await call("PATCH", `/api/admin/users/${account.id}`, { active: !account.active });
  } catch (refusal) {
    if (refusal.status !== 401) say(`${t("admin.notSaved")} ${refusal.message}`, $("#accounts-status"));
    return;
  }
  await load();
  say(t(account.active ? "admin.disabledDone" : "admin.enabledDone", { email: account.email }), $("#accounts-status"));
}

// ---- the page -----------------------------------------------------------------------------

async function main() {
  const config = await getJson("/api/config");
  await setupLanguage(config.jurisdiction, new URLSearchParams(window.location.search).get("lang"));
  agencyNameFields();
  $("#sign-in").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#agency-form").addEventListener("submit", submitAgency);
  $("#agency-form .cancel").addEventListener("click", () => agencyForm());
  $("#account-form").addEventListener("submit", submitAccount);
  $("#account-form .cancel").addEventListener("click", () => accountForm());
  $("#account-form").elements.role.addEventListener("change", showRoleFields);
  accountForm();
  await start();
  document.body.dataset.ready = "true";
}

main();
