// An official's session: the bearer token of /api/auth/token, kept in sessionStorage (gone when
// the tab closes, never sent by the browser on its own: no cookie, so no CSRF), sent on writes.
const KEY = "allimi.token";

export function signedIn() {
  return Boolean(sessionStorage.getItem(KEY));
}

// A request with the token, its body JSON or a FormData (a multipart upload); the answer as
// {status, ok, body (JSON or null), etag}.
export async function call(method, url, { json, form, headers = {} } = {}) {
  const token = sessionStorage.getItem(KEY);
  const response = await fetch(url, {
    method,
    cache: "no-cache", // an editor works on the project as it is now, never a kept copy
    headers: {
      Accept: "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(json === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: json === undefined ? form : JSON.stringify(json),
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  return { status: response.status, ok: response.ok, body, etag: response.headers.get("ETag") };
}

// Signs in (OAuth2 password flow); the answer of /api/auth/token.
export async function signIn(email, password) {
  const response = await fetch("/api/auth/token", {
    method: "POST",
    headers: { Accept: "application/json" },
    body: new URLSearchParams({ username: email, password }),
  });
  const body = await response.json().catch(() => null);
  if (response.ok) sessionStorage.setItem(KEY, body.access_token);
  return { status: response.status, ok: response.ok, body };
}

// Revokes the token on the server (when it still holds), then forgets it here.
export async function signOut() {
  if (signedIn()) await call("POST", "/api/auth/logout").catch(() => null);
  forget();
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

// A file only signed-in accounts may see (a pending report's photo), as a URL of this page
// (an <img> cannot send the token itself); null when it cannot be had.
export async function fileUrl(url) {
  const response = await fetch(url, {
    cache: "no-store", headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` },
  });
  return response.ok ? URL.createObjectURL(await response.blob()) : null;
}

// A page's sign-in form (#sign-in, #sign-in-form's #username and #password, #sign-in-error):
// ``show(message)`` shows it with the page's own elements (``pageIds``) hidden; ``submit`` signs
// in and calls ``enter``; ``account()`` is the signed-in account, named in #who beside
// #sign-out, or null with the form shown again. ``t`` gives the page's messages.
export function signInForm(pageIds, enter, t) {
  const $ = (id) => document.getElementById(id);
  function show(message = "") {
    $("sign-in").hidden = false;
    for (const id of pageIds) $(id).hidden = true;
    const error = $("sign-in-error");
    error.hidden = !message;
    error.textContent = message;
    $("username").focus();
  }
  async function submit(event) {
    event.preventDefault();
    const email = $("username").value.trim();
    const password = $("password").value;
    if (!email || !password) return show(t("editor.signInMissing"));
    const answer = await signIn(email, password);
    $("password").value = "";
    if (answer.status === 429) return show(t("editor.signInSlow"));
    if (!answer.ok) return show(t("editor.signInWrong"));
    await enter();
  }
  async function account() {
    const answer = await call("GET", "/api/auth/me");
    if (answer.status === 401) {
      forget();
      show(signedIn() ? "" : t("editor.signedOut"));
      return null;
    }
    const me = answer.body;
    $("who").hidden = false;
    $("who").textContent = t("editor.signedInAs", { name: me.name, role: t(`editor.role.${me.role}`) });
    $("sign-out").hidden = false;
    $("sign-in").hidden = true;
    return me;
  }
  return { show, submit, account };
}
