// The web UI: hash routes over the JSON API of the same origin. Signed in either with a pasted
// token, which lives in sessionStorage (gone when the tab closes) and goes only into the
// Authorization header, or through the identity provider, whose session the server keeps in an
// HttpOnly cookie this script never sees; every change made with that cookie repeats the
// session's CSRF token in X-CSRF-Token. Every value from the API is put in the page as text
// (textContent), never as HTML.

import {
  counted, describeServing, describeUnknown, describeVersions, formatInstant, initialWindow, lanes, layout, liveAt, parseInstant, ticks, versionColor,
} from "./timeline.mjs";

const TOKEN_KEY = "modelrepo.token";
const API = "/api/v1";
const SVG = "http://www.w3.org/2000/svg"; // an XML namespace name, not a request

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const whoBox = document.getElementById("who");

/** How this tab is signed in through the identity provider (null: it is not): the principal
 * and the CSRF token the server gave for its session cookie. */
let webSession = null;
/** The identity provider the server trusts ({issuer, client_id, scopes}), or null. */
let signOn = null;

/** The navigation shows once the API has accepted the credential, not merely when one is stored. */
function signedIn(yes) {
  nav.hidden = !yes;
  if (!yes) webSession = null;
  showWho();
}

function showWho() {
  if (!whoBox) return;
  if (!webSession) { fill(whoBox); whoBox.hidden = true; return; }
  const p = webSession.principal;
  const issuer = (p.authentication || {}).issuer;
  fill(whoBox, h("span", { "data-testid": "who-name" }, p.user),
    issuer ? h("span", { class: "muted", "data-testid": "who-issuer" }, ` · identity provider ${issuer}`) : null);
  whoBox.hidden = false;
}

/** An actor as the records name it: with the identity provider that vouched for it, the
 * token it used, or the warning that nobody checked the name (`who()` on the server). */
function who(name, auth) {
  if (!name) return "";
  if (!auth) return name;
  if (auth.method === "oidc") return `${name} (identity provider ${auth.issuer})`;
  if (auth.method === "token") return `${name} (API token ${auth.token_id})`;
  return `${name} (asserted, not authenticated)`;
}

// -- small DOM helpers -------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function s(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Replace a node's children; arrays are flattened, null/undefined/false left out. */
function fill(node, ...kids) {
  node.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

function show(...nodes) {
  fill(main, ...nodes);
}

function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, err.message || String(err));
}

function short(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Any JSON value as nested tables: the decision story and lineage, whatever their fields. */
function tree(value) {
  if (Array.isArray(value)) {
    if (value.length === 0) return h("span", { class: "muted" }, "[]");
    if (value.every((v) => v === null || typeof v !== "object")) return h("span", {}, value.map(short).join(", "));
    return h("div", {}, value.map((v) => h("div", { class: "card" }, tree(v))));
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return h("span", { class: "muted" }, "{}");
    return h("table", { class: "kv" }, keys.map((k) => h("tr", {}, h("td", {}, k), h("td", {}, tree(value[k])))));
  }
  if (value === null) return h("span", { class: "muted" }, "null");
  return h("span", { class: typeof value === "string" ? "" : "mono" }, String(value));
}

/** A value for a pill or a cell: null said as null (not left blank, which reads as ""). */
function shown(value) {
  return value === null ? "null" : short(value);
}

function pills(obj) {
  return Object.entries(obj || {}).map(([k, v]) => h("span", { class: "pill" }, `${k}=${shown(v)}`));
}

/** An approval as a person reads it ("approved by", not `approved_by`). */
const APPROVAL_LABELS = { approved_by: "approved by", approved_at: "approved at", request_id: "request" };

function approvalTable(approval) {
  return h("table", { class: "kv", "data-testid": "approval" }, Object.entries(approval).map(([k, v]) =>
    h("tr", {}, h("td", {}, APPROVAL_LABELS[k] || k.replaceAll("_", " ")), h("td", {}, v === null ? "—" : short(v)))));
}

// -- the API -----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(`${status} ${body.code || ""}: ${body.message || "request failed"}`);
    this.status = status;
    this.code = body.code;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Every request the page makes, to this origin only, never from the browser's cache. */
function send(url, init) {
  return fetch(url, { cache: "no-store", ...init });
}

async function api(path, params = {}, { redirect = true, method = "GET", json = undefined } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") query.set(k, v);
  const text = query.toString();
  const url = API + path + (text ? "?" + text : "");
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (webSession && !SAFE_METHODS.has(method)) headers["X-CSRF-Token"] = webSession.csrf_token;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const reply = await send(url, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    // A pasted token needs no cookie; a session signed in through the identity provider is one.
    credentials: token ? "omit" : "same-origin",
  });
  const answer = await reply.json().catch(() => ({}));
  if (reply.status === 401) signedIn(false);
  else if (reply.ok) nav.hidden = false;
  if (reply.status === 401 && redirect) {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "#/login";
    throw new ApiError(401, answer);
  }
  if (!reply.ok) throw new ApiError(reply.status, answer);
  return answer;
}

/** The identity provider's sign-in, if the server trusts one (asked once). */
async function loadSignOn() {
  try {
    const reply = await send(`${API}/auth/config`, { credentials: "omit", headers: { Accept: "application/json" } });
    signOn = reply.ok ? (await reply.json()).oidc : null;
  } catch {
    signOn = null;
  }
}

/** Whether the browser holds a live session cookie: if so, keep who it is and its CSRF token. */
async function loadSession() {
  if (!signOn) return false;
  const reply = await send(`${API}/session`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const found = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    webSession = null;
    // Signed in, but refused (a user the provider knows and nobody gave a role): say why.
    if (reply.status === 403) notice = { message: new ApiError(reply.status, found).message };
    return false;
  }
  webSession = found.csrf_token ? found : null;
  showWho();
  return Boolean(webSession);
}

async function all(path, params = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { ...params, limit: 1000, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

const enc = encodeURIComponent;

// -- pages -------------------------------------------------------------------------------------

/** What the login page says once, after signing out: how it went, and where to sign out of
 * the identity provider too. */
let notice = null;

function loginPage(message) {
  const said = notice || {};
  notice = null;
  message = message || said.message;
  const input = h("input", { type: "password", id: "token", autocomplete: "off", placeholder: "mr_…", required: true, "data-testid": "token" });
  const status = h("p", { class: "muted" }, message || "");
  const next = "/ui/" + (location.hash && !location.hash.startsWith("#/login") ? location.hash : "");
  const sso = signOn ? h("div", { class: "sso" },
    h("p", {}, h("a", { class: "button primary", href: `/ui/login?next=${enc(next)}`, "data-testid": "sso" }, "Sign in with single sign-on")),
    h("p", { class: "muted" }, `Through the identity provider ${signOn.issuer}.`),
    h("p", { class: "muted" }, "Or paste an API token:")) : null;
  const form = h("form", { class: "card login" },
    h("h1", {}, "Log in"), sso,
    h("p", {}, "Paste an API token (", h("code", {}, "modelrepo token create"), "). It is kept in this tab only."),
    input, h("p", {}, h("button", { class: "primary", type: "submit", "data-testid": "login" }, "Log in")), status,
    said.endSession ? h("p", {}, h("a", { href: said.endSession, "data-testid": "provider-sign-out" }, "Also sign out of the identity provider")) : null);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    status.textContent = "Checking…";
    try {
      await api("/models", { limit: 1 }, { redirect: false });
      webSession = null;
      showWho();
      location.hash = "#/models";
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      fill(status, errorBox(err));
    }
  });
  show(form);
  input.focus();
}

async function modelsPage() {
  const models = await all("/models");
  show(h("h1", {}, "Models"),
    models.length === 0 ? h("p", { class: "muted" }, "No model this token may see.") :
      h("table", {},
        h("tr", {}, h("th", {}, "model"), h("th", {}, "versions"), h("th", {}, "latest"), h("th", {}, "created"), h("th", {}, "by")),
        models.map((m) => h("tr", {},
          h("td", {}, h("a", { href: `#/models/${enc(m.model)}`, "data-testid": "model-link" }, m.model)),
          h("td", {}, m.version_count), h("td", {}, `v${m.latest_version}`),
          h("td", {}, m.created_at), h("td", {}, m.created_by)))));
}

async function modelPage(name, query) {
  const [model, versions] = await Promise.all([
    api(`/models/${enc(name)}`), all(`/models/${enc(name)}/versions`, { include_deleted: true }),
  ]);
  const chartBox = h("div", {});
  const diffBox = h("div", {});
  const historyBox = h("div", {});
  const picked = new Set();
  const diffButton = h("button", { type: "button", disabled: true }, "Compare the two checked versions");
  diffButton.addEventListener("click", () => {
    const [a, b] = [...picked].sort((x, y) => x - y);
    showDiff(name, a, b, diffBox);
  });
  const rows = versions.map((v) => {
    const box = h("input", { type: "checkbox", "aria-label": `pick v${v.version} to compare` });
    box.addEventListener("change", () => {
      if (box.checked) picked.add(v.version); else picked.delete(v.version);
      diffButton.disabled = picked.size !== 2;
    });
    return h("tr", { id: `v${v.version}` },
      h("td", {}, box),
      h("td", {}, h("b", {}, h("span", { class: "swatch", style: null, "data-version": v.version }),
        h("a", { href: `#/models/${enc(name)}/versions/${v.version}`, "data-testid": "version-link" }, `v${v.version}`)),
        v.deprecated ? h("div", { class: "bad" }, "deprecated") : null,
        v.deleted_at ? h("div", { class: "bad" }, `deleted ${v.deleted_at}`) : null),
      h("td", {}, v.created_at, h("div", { class: "muted" }, v.created_by)),
      h("td", {}, v.flavor, h("div", { class: "muted mono", title: v.digest }, v.digest.slice(0, 19) + "…")),
      h("td", {}, pills(v.params)), h("td", {}, pills(v.metrics)), h("td", {}, pills(v.tags)),
      h("td", {}, h("details", {}, h("summary", {}, lineageSummary(v.lineage)), tree(v.lineage))),
      h("td", {}, v.deleted_at ? "" : requestForm(name, v.version)));
  });
  show(h("h1", {}, name),
    h("p", { class: "muted" }, `${counted(model.version_count, "version")} · created ${model.created_at} by ${model.created_by} · `,
      h("a", { href: `#/decisions?model=${enc(name)}` }, "its decisions"), " · ",
      h("a", { href: `#/audit?subject=${enc(`model:${name}`)}` }, "its audit log")),
    h("h2", {}, "Environments over time"), chartBox,
    h("h2", {}, "Versions"),
    h("div", { class: "toolbar" }, diffButton),
    h("table", {}, h("tr", {}, ["", "version", "created", "flavor · digest", "params", "metrics", "tags", "lineage", "deploy"].map((t) => h("th", {}, t))), rows),
    diffBox,
    h("h2", {}, "History"), historyBox);
  for (const sw of main.querySelectorAll(".swatch[data-version]")) sw.style.background = versionColor(sw.dataset.version);
  await Promise.all([timelineChart(name, chartBox, query), historyTable(name, historyBox)]);
}

/** A version's "Request deployment": deploys at once, or (in a protected environment) files
 * a request that another person approves in the Requests view. */
function requestForm(name, version) {
  const env = h("input", { type: "text", name: "environment", placeholder: "environment", required: true,
    "aria-label": `environment for v${version}`, "data-testid": `deploy-env-${version}` });
  const status = h("div", { class: "muted", "data-testid": `deploy-status-${version}` });
  const form = h("form", { class: "toolbar", "data-testid": `deploy-form-${version}` }, env,
    h("button", { type: "submit", "data-testid": `deploy-${version}` }, "Request deployment"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const target = env.value.trim();
    if (!target) return;
    fill(status, "Sending…");
    try {
      const outcome = await api(`/models/${enc(name)}/environments/${enc(target)}/deploy`, {},
        { method: "POST", json: { version } });
      fill(status, outcome.status === "pending"
        ? h("span", { "data-testid": "deploy-outcome" }, `request ${outcome.request_id} awaits approval · `,
          h("a", { href: "#/requests" }, "requests"))
        : h("span", { class: "ok", "data-testid": "deploy-outcome" }, `${outcome.status} in ${target} (event ${outcome.event_id})`));
    } catch (err) {
      if (err.status !== 401) fill(status, errorBox(err));
    }
  });
  return form;
}

/** The model's deployment events, newest last, each with who did it and how they proved it. */
async function historyTable(name, box) {
  try {
    fill(box, await pagedTable(`/models/${enc(name)}/history`, {},
      ["event", "environment", "kind", "versions", "effective", "by", "approved by", "reason"],
      (e) => h("tr", { "data-testid": "history-row", "data-event": e.event_id },
        h("td", {}, e.event_id), h("td", {}, e.environment), h("td", {}, e.kind, e.backfill ? h("span", { class: "bad" }, " backfill") : null),
        h("td", {}, describeVersions(e.versions)), h("td", {}, e.effective_at),
        h("td", { "data-testid": "history-actor" }, who(e.actor, e.actor_auth)),
        h("td", { "data-testid": "history-approver" }, e.approved_by ? who(e.approved_by, e.approved_auth) : "—"),
        h("td", {}, e.reason || "")), "history"));
  } catch (err) {
    if (err.status === 401) throw err;
    fill(box, errorBox(err));
  }
}

function lineageSummary(lineage) {
  if (!lineage || typeof lineage !== "object") return "—";
  const parts = [];
  if (lineage.code && lineage.code.commit) parts.push(`code ${String(lineage.code.commit).slice(0, 10)}`);
  if (Array.isArray(lineage.data)) parts.push(`${lineage.data.length} data`);
  if (lineage.parents && lineage.parents.length) parts.push(`from ${lineage.parents.map(short).join(", ")}`);
  return parts.length ? parts.join(" · ") : Object.keys(lineage).join(", ") || "—";
}

async function showDiff(name, a, b, box) {
  fill(box, h("p", { class: "muted" }, `Comparing v${a} and v${b}…`));
  try {
    const d = await api(`/models/${enc(name)}/diff`, { a, b });
    const changes = (title, obj, withDelta) => {
      const keys = Object.keys(obj || {});
      return [h("h3", {}, title), keys.length === 0 ? h("p", { class: "muted" }, "no change") :
        h("table", {}, h("tr", {}, h("th", {}, "key"), h("th", {}, `v${a}`), h("th", {}, `v${b}`), withDelta ? h("th", {}, "delta") : null),
          keys.map((k) => h("tr", {}, h("td", {}, k), h("td", { class: "diff-del" }, shown(obj[k].old)),
            h("td", { class: "diff-add" }, shown(obj[k].new)),
            withDelta ? h("td", { class: "mono" }, obj[k].delta === null ? "" : (obj[k].delta > 0 ? "+" : "") + obj[k].delta.toPrecision(4)) : null)))];
    };
    const f = d.files;
    fill(box, h("h2", {}, `Diff v${a} → v${b}`),
      h("p", {}, d.same_content ? h("span", { class: "ok" }, "same content") : "content differs"),
      changes("Metadata", d.metadata), changes("Params", d.params), changes("Metrics", d.metrics, true), changes("Tags", d.tags),
      h("h3", {}, "Files"),
      h("table", { class: "kv" }, ["added", "removed", "modified"].map((k) =>
        h("tr", {}, h("td", {}, k), h("td", { class: "mono" }, (f[k] || []).join(", ") || "—"))),
        h("tr", {}, h("td", {}, "unchanged"), h("td", {}, counted(f.unchanged, "file")))),
      Object.entries(d.text_diffs || {}).map(([path, text]) => [h("h3", {}, path), h("pre", {}, text)]));
  } catch (err) {
    fill(box, errorBox(err));
  }
}

// -- the timeline chart --------------------------------------------------------------------------

const LEFT = 130;
const LANE = 38;
const TOP = 22;

async function timelineChart(name, box, query) {
  const knownInput = h("input", { type: "text", placeholder: "now", value: query.get("known") || "", "aria-label": "as known at" });
  const atInput = h("input", { type: "text", placeholder: "2025-01-31T12:00:00Z", value: query.get("at") || "", "aria-label": "instant", "data-testid": "instant" });
  const liveBox = h("div", { "data-testid": "live" });
  const hover = h("div", { class: "hover muted" }, "Click or drag on the chart to pick an instant; wheel to zoom, shift+wheel to pan.");
  const chart = h("div", { class: "chart", "data-testid": "timeline" });
  const legend = h("div", { class: "legend" });
  const stats = h("span", { class: "muted" });
  const view = { t0: 0, t1: 1, cursor: null };
  let data = null;
  let frame = 0;
  let loadedKnown = null;

  const toolbar = h("form", { class: "toolbar" },
    h("label", {}, "Instant ", atInput), h("button", { type: "submit", "data-testid": "show-live" }, "Show what was live"),
    h("button", { type: "button", onclick: () => { if (data) { view.t0 = data.start; view.t1 = data.end; draw(); } } }, "Fit"),
    h("button", { type: "button", onclick: () => zoom(0.5, null) }, "+"),
    h("button", { type: "button", onclick: () => zoom(2, null) }, "−"),
    h("label", {}, "As known at ", knownInput), h("button", { type: "button", onclick: () => load() }, "Reload"), stats);
  toolbar.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (knownInput.value.trim() !== loadedKnown) await load();
    const t = parseInstant(atInput.value);
    if (t === null) { fill(liveBox, errorBox(new Error("Type an ISO-8601 instant, e.g. 2025-01-31T12:00:00Z"))); return; }
    if (!data) return;
    setCursor(t, true);
    if (t < view.t0 || t > view.t1) { const w = view.t1 - view.t0; view.t0 = t - w / 2; view.t1 = t + w / 2; draw(); }
  });
  fill(box, toolbar, chart, hover, legend, liveBox);

  async function load() {
    try {
      await fetchAndDraw();
    } catch (err) {
      if (err.status === 401) throw err;
      fill(liveBox, errorBox(err));
    }
  }

  async function fetchAndDraw() {
    const known = knownInput.value.trim();
    if (known && parseInstant(known) === null) { fill(liveBox, errorBox(new Error("as known at: not an ISO-8601 instant"))); return; }
    const started = performance.now();
    const intervals = await api(`/models/${enc(name)}/timeline`, { as_known_at: known ? formatInstant(parseInstant(known)) : null });
    const fetched = performance.now();
    loadedKnown = known;
    if (intervals.length === 0) {
      fill(chart, h("p", { class: "muted" }, known ? `Not deployed anywhere as known at ${known}.` : "Never deployed."));
      data = null;
      return;
    }
    data = lanes(intervals, Date.now());
    [view.t0, view.t1] = initialWindow(data); // "Fit": the whole extent, up to now
    const seen = new Set(intervals.flatMap((i) => i.versions.map((a) => a.version)));
    const unknown = intervals.some((i) => i.unknown);
    fill(legend, ...[...seen].sort((a, b) => a - b).map((v) => h("span", {}, h("span", { class: "swatch", "data-v": v }), `v${v}`)),
      h("span", {}, h("span", { class: "swatch", "data-k": "bf" }), "backfilled"), h("span", { class: "ok" }, "▲ approved"),
      unknown ? h("span", { "data-testid": "legend-unknown" }, h("span", { class: "swatch unknown" }), "unknown (imported from a registry that keeps no history)") : null);
    for (const sw of legend.querySelectorAll(".swatch[data-v]")) sw.style.background = versionColor(sw.dataset.v);
    for (const sw of legend.querySelectorAll(".swatch[data-k]")) sw.style.background = "#92400e";
    const drawn = draw();
    stats.textContent = `${counted(intervals.length, "interval")} · fetched in ${Math.round(fetched - started)} ms · drawn in ${drawn} ms`;
    const t = parseInstant(atInput.value);
    if (t !== null) setCursor(t, true);
  }

  function x(t, width) { return LEFT + ((t - view.t0) / (view.t1 - view.t0)) * width; }

  function draw() {
    if (!data) return 0;
    const started = performance.now();
    const total = chart.clientWidth || 900;
    const width = total - LEFT - 10;
    const height = TOP + LANE * Math.max(data.envs.length, 1) + 24;
    const svg = s("svg", { viewBox: `0 0 ${total} ${height}`, height, role: "img", "aria-label": `deployment timeline of ${name}` });
    const { ticks: marks } = ticks(view.t0, view.t1, Math.floor(width / 140));
    for (const t of marks) {
      const tx = x(t, width);
      svg.append(s("line", { x1: tx, x2: tx, y1: TOP - 4, y2: height - 20, class: "grid" }));
      const label = s("text", { x: tx, y: height - 6, "text-anchor": "middle", class: "axis" });
      label.textContent = formatInstant(t).replace("T00:00:00Z", "").replace(":00Z", "Z");
      svg.append(label);
    }
    data.envs.forEach((env, row) => {
      const y = TOP + row * LANE;
      const label = s("text", { x: 6, y: y + LANE / 2 + 2, class: "lane-label" });
      label.textContent = env.length > 18 ? env.slice(0, 17) + "…" : env;
      svg.append(label);
      for (const bar of layout(data.byEnv.get(env), view.t0, view.t1, width)) {
        const bx = LEFT + bar.x0;
        const bw = Math.max(bar.x1 - bar.x0, 1);
        const versions = bar.main.versions;
        if (bar.main.unknown) { // what served then is not known: a grey band, never a version
          const band = s("rect", { x: bx, y: y + 2, width: bw, height: LANE - 12, class: "unknown", "data-unknown": "1" });
          const title = s("title", {});
          title.textContent = `${env}: ${describeUnknown(bar.main.unknown)}`;
          band.append(title);
          svg.append(band);
          if (bw > 60) {
            const t = s("text", { x: bx + 3, y: y + LANE / 2 + 2, class: "unknown-label" });
            t.textContent = "unknown";
            svg.append(t);
          }
          continue;
        }
        if (versions.length === 0) {
          svg.append(s("rect", { x: bx, y: y + LANE / 2 - 1, width: bw, height: 2, fill: "#9ca3af" }));
        }
        let offset = 0;
        for (const a of versions) {
          const bh = (LANE - 12) * a.weight;
          svg.append(s("rect", { x: bx, y: y + 2 + offset, width: bw, height: bh, fill: versionColor(a.version), opacity: bar.count > 1 ? 0.75 : 1 }));
          if (bar.count === 1 && bw > 34 && bh >= 11) {
            const t = s("text", { x: bx + 3, y: y + 2 + offset + bh / 2 + 4, fill: "#fff" });
            t.textContent = a.weight < 1 ? `v${a.version} ${Math.round(a.weight * 100)}%` : `v${a.version}`;
            svg.append(t);
          }
          offset += bh;
        }
        if (bar.backfill) svg.append(s("rect", { x: bx, y: y + LANE - 9, width: bw, height: 3, class: "bf" }));
        if (bar.approved) svg.append(s("path", { d: `M${bx} ${y + 1} l3 -5 l3 5 z`, class: "appr" }));
      }
    });
    const cursor = s("line", { y1: TOP - 8, y2: height - 20, class: "cursor", visibility: "hidden" });
    svg.append(cursor);
    fill(chart, svg);
    chart._cursor = cursor;
    placeCursor();
    return Math.round(performance.now() - started);
  }

  function placeCursor() {
    const line = chart._cursor;
    if (!line || view.cursor === null) return;
    const width = chart.clientWidth - LEFT - 10;
    const cx = x(view.cursor, width);
    line.setAttribute("x1", cx); line.setAttribute("x2", cx);
    line.setAttribute("visibility", cx >= LEFT && cx <= LEFT + width ? "visible" : "hidden");
  }

  function timeAt(event) {
    const left = chart.getBoundingClientRect().left + chart.clientLeft;
    const width = chart.clientWidth - LEFT - 10;
    return view.t0 + ((event.clientX - left - LEFT) / width) * (view.t1 - view.t0);
  }

  function zoom(factor, centre) {
    const c = centre ?? (view.t0 + view.t1) / 2;
    const span = Math.max((view.t1 - view.t0) * factor, 1000);
    const ratio = (c - view.t0) / (view.t1 - view.t0);
    view.t0 = c - span * ratio; view.t1 = view.t0 + span;
    schedule();
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  // What the chart says was live at t, while dragging; the server's answer once released.
  function localLive(t) {
    return data.envs.map((env) => {
      const item = liveAt(data.byEnv.get(env), t);
      return { environment: env, versions: item ? item.versions : [], event: item, unknown: item ? item.unknown : null };
    });
  }

  let asked = 0;
  async function setCursor(t, ask) {
    view.cursor = t;
    atInput.value = formatInstant(Math.round(t));
    placeCursor();
    if (!data) return;
    if (!ask) { fill(liveBox, liveTable(localLive(t), "from the chart")); return; }
    const mine = ++asked;
    const known = knownInput.value.trim();
    try {
      const answers = await Promise.all(data.envs.map((env) => api(`/models/${enc(name)}/environments/${enc(env)}/live`,
        { at: formatInstant(Math.round(t)), as_known_at: known ? formatInstant(parseInstant(known)) : null })));
      if (mine === asked) fill(liveBox, liveTable(answers, "answered by the registry"));
    } catch (err) {
      if (mine === asked) fill(liveBox, errorBox(err));
    }
  }

  function liveTable(rows, source) {
    return h("div", { "data-testid": "live-answer", "data-at": atInput.value, "data-source": source },
      h("h3", {}, `Live at ${atInput.value} `, h("span", { class: "muted" }, `(${source})`)),
      h("table", {}, h("tr", {}, ["environment", "versions", "since", "event", "by", "approved by"].map((t) => h("th", {}, t))),
        rows.map((r) => {
          const e = r.unknown ? {} : r.event || {}; // an unknown answer's event is the later observation
          return h("tr", { "data-testid": "live-row", "data-environment": r.environment },
            h("td", {}, r.environment), h("td", { "data-testid": "live-versions", class: r.unknown ? "muted" : null }, describeServing(r)),
            h("td", {}, e.effective_at || e.from || ""), h("td", {}, e.event_id ?? "", e.backfill ? h("span", { class: "bad" }, " backfill") : null),
            h("td", { "data-testid": "live-actor" }, who(e.actor, e.actor_auth)),
            h("td", { "data-testid": "live-approver" }, who(e.approved_by, e.approved_auth)));
        })));
  }

  let dragging = false;
  chart.addEventListener("pointerdown", (event) => {
    if (!data) return;
    dragging = true;
    chart.setPointerCapture(event.pointerId);
    setCursor(timeAt(event), false);
  });
  chart.addEventListener("pointermove", (event) => {
    if (!data) return;
    const t = timeAt(event);
    if (dragging) { setCursor(t, false); return; }
    const top = chart.getBoundingClientRect().top + chart.clientTop;
    const row = Math.floor((event.clientY - top - TOP) / LANE);
    const env = data.envs[row];
    const item = env && t >= view.t0 ? liveAt(data.byEnv.get(env), t) : null;
    hover.textContent = item && item.unknown
      ? `${env}: ${describeUnknown(item.unknown)} · event ${item.event_id} (${item.kind})`
      : item
      ? `${env}: ${describeVersions(item.versions)} from ${item.from} to ${item.to ?? "now"} · event ${item.event_id} (${item.kind}) by ${who(item.actor, item.actor_auth)}`
        + (item.approved_by ? ` · approved by ${who(item.approved_by, item.approved_auth)}` : "") + (item.backfill ? " · backfilled" : "")
      : formatInstant(Math.round(t));
  });
  chart.addEventListener("pointerup", (event) => {
    if (!dragging) return;
    dragging = false;
    setCursor(timeAt(event), true);
  });
  chart.addEventListener("wheel", (event) => {
    if (!data) return;
    event.preventDefault();
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      const shift = ((event.deltaX || event.deltaY) / chart.clientWidth) * (view.t1 - view.t0);
      view.t0 += shift; view.t1 += shift; schedule();
    } else {
      zoom(event.deltaY > 0 ? 1.25 : 0.8, timeAt(event));
    }
  }, { passive: false });
  window.addEventListener("resize", schedule);

  await load();
}

// -- decisions and audit -------------------------------------------------------------------------

/** A filter form whose fields become the page's hash query (so a filtered view is a link). */
function filterForm(page, fields, query, label) {
  const inputs = fields.map(([name, placeholder]) =>
    h("input", { type: "text", name, value: query.get(name) || "", placeholder, "aria-label": name, "data-testid": `filter-${name}` }));
  const form = h("form", { class: "toolbar", "data-testid": `filter-${page}` }, inputs, h("button", { class: "primary", type: "submit" }, label));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    fields.forEach(([name], i) => { if (inputs[i].value.trim()) params.set(name, inputs[i].value.trim()); });
    location.hash = `#/${page}?${params.toString()}`;
  });
  return form;
}

/** A table filled a page at a time, following the API's `next_cursor` ("Load more"). */
async function pagedTable(path, params, head, row, testid) {
  const body = h("tbody", {});
  const table = h("table", { "data-testid": testid }, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), body);
  const more = h("button", { type: "button", "data-testid": `${testid}-more`, hidden: true }, "Load more");
  const count = h("span", { class: "muted", "data-testid": `${testid}-count` });
  const box = h("div", {}, table, h("div", { class: "toolbar" }, more, count));
  let cursor = null;
  let rows = 0;
  async function next() {
    more.disabled = true;
    const page = await api(path, { ...params, limit: 50, cursor });
    for (const item of page.items) body.append(row(item));
    rows += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    count.textContent = rows === 0 ? "None found." : `${rows} shown${cursor ? ", more to load" : ""}`;
  }
  more.addEventListener("click", () => next().catch((err) => { if (err.status !== 401) box.append(errorBox(err)); }));
  await next();
  return box;
}

async function decisionsPage(id, query = new URLSearchParams()) {
  const input = h("input", { type: "text", value: id || "", placeholder: "decision id", "aria-label": "decision id" });
  const out = h("div", {});
  const form = h("form", { class: "toolbar" }, input, h("button", { class: "primary", type: "submit" }, "Look up"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) location.hash = `#/decisions/${enc(input.value.trim())}`;
  });
  const browse = filterForm("decisions", [["model", "model"], ["env", "environment (all)"], ["version", "version (all)"],
    ["since", "since (ISO time)"], ["until", "until (ISO time)"]], query, "Browse");
  show(h("h1", {}, "Decisions"), h("h2", {}, "Look one up"), form, h("h2", {}, "Browse a model's decisions"), browse, out);
  if (!id) {
    const model = query.get("model");
    if (!model) { fill(out, h("p", { class: "muted" }, "Name a model to list its decisions; the other filters are optional.")); return; }
    const params = { env: query.get("env"), version: query.get("version"), since: query.get("since"), until: query.get("until") };
    try {
      fill(out, await pagedTable(`/models/${enc(model)}/decisions`, params,
        ["decision", "decided at", "version", "environment", "output", "recorded at"],
        (d) => h("tr", { "data-testid": "decision-row" },
          h("td", {}, h("a", { href: `#/decisions/${enc(d.decision_id)}` }, d.decision_id)),
          h("td", {}, d.decided_at || "—"), h("td", {}, `v${d.version}`), h("td", {}, d.environment || "—"),
          h("td", { class: "mono" }, shown(d.output)), h("td", {}, d.recorded_at || "—")), "decisions"));
    } catch (err) {
      if (err.status === 401) throw err;
      fill(out, errorBox(err));
    }
    return;
  }
  fill(out, h("p", { class: "muted" }, "Looking up…"));
  try {
    const story = await api(`/decisions/${enc(id)}`);
    const at = story.decided_at;
    const model = `#/models/${enc(story.model)}`;
    const dep = story.deployment;
    const approval = story.approval;
    const row = (k, ...v) => h("tr", {}, h("td", {}, k), h("td", {}, ...v));
    fill(out, 
      h("h2", {}, `Decision ${story.decision_id}`),
      h("table", { class: "kv" },
        row("model", h("a", { href: model }, story.model), ` v${story.version}`,
          h("span", { class: "muted" }, ` (${story.version_source || "given"})`)),
        row("environment", story.environment || "—"),
        row("decided at", at || "—", at ? [" · ", h("a", { href: `${model}?at=${enc(at)}` }, "what was live then")] : null),
        row("recorded at", story.recorded_at || "—"),
        row("deployment", story.live_unknown ? h("span", { "data-testid": "deployment-unknown" }, describeUnknown(story.live_unknown))
          : dep ? `event ${dep.event_id}: ${describeVersions(dep.versions)} from ${dep.effective_at} by ${who(dep.actor, dep.actor_auth)}`
          + (dep.backfill ? " (backfilled)" : "") : "—"),
        row("approval", approval ? approvalTable(approval) : (dep && dep.approved_by ? `approved by ${who(dep.approved_by, dep.approved_auth)}` : "none recorded")),
        row("matches the history", story.live_unknown ? h("span", { class: "muted" }, "unknown")
          : story.matches_history === false ? h("span", { class: "bad" }, "no") : h("span", { class: "ok" }, "yes")),
        row("output", short(story.output)),
        row("inputs", `${story.inputs_mode || ""} ${story.inputs_digest || ""}`)),
      h("details", {}, h("summary", {}, "The whole record"), tree(story)));
  } catch (err) {
    fill(out, errorBox(err));
  }
}

async function auditPage(query) {
  show(h("h1", {}, "Audit trail"), h("p", { class: "muted" }, "Verifying the whole log…"));
  const started = performance.now();
  const r = await api("/audit/verify");
  const elapsed = Math.round(performance.now() - started);
  const subject = query.get("subject");
  const log = await pagedTable("/audit/log", { subject }, ["#", "at", "who", "what", "subject", "change"],
    (e) => h("tr", { "data-testid": "audit-row" },
      h("td", {}, e.seq), h("td", {}, e.at || "—"), h("td", {}, e.actor || "—"),
      h("td", {}, e.kind, e.damaged ? h("span", { class: "bad" }, " damaged") : null),
      h("td", {}, e.subject || "—"), h("td", { class: "mono wrap" }, e.change ? short(e.change) : "—")), "audit-log");
  show(h("h1", {}, "Audit trail"),
    h("p", {}, r.ok ? h("span", { class: "ok" }, "✔ intact") : h("span", { class: "bad" }, "✘ problems found"),
      h("span", { class: "muted" }, ` (verified in ${elapsed} ms)`)),
    h("table", { class: "kv" },
      h("tr", {}, h("td", {}, "entries"), h("td", {}, r.size)),
      h("tr", {}, h("td", {}, "root hash"), h("td", { class: "mono" }, r.root_hash ?? "—")),
      h("tr", {}, h("td", {}, "checkpoints checked"), h("td", {}, r.checkpoints_checked)),
      h("tr", {}, h("td", {}, "first bad entry"), h("td", {}, r.first_bad_seq ?? "—"))),
    r.problems.length ? [h("h2", {}, "Problems"), tree(r.problems)] : null,
    h("h2", {}, "The log"),
    h("p", { class: "muted" }, "Every change, oldest first: who did what, when. Filter by subject, e.g. model:credit-risk."),
    filterForm("audit", [["subject", "subject (all), e.g. model:credit-risk"]], query, "Filter"),
    log);
}

async function deniedPage(query) {
  const model = h("input", { type: "text", value: query.get("model") || "", placeholder: "model (all)", "aria-label": "model" });
  const since = h("input", { type: "text", value: query.get("since") || "", placeholder: "since (ISO time)", "aria-label": "since" });
  const form = h("form", { class: "toolbar" }, model, since, h("button", { class: "primary", type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (model.value.trim()) params.set("model", model.value.trim());
    if (since.value.trim()) params.set("since", since.value.trim());
    location.hash = `#/denied?${params.toString()}`;
  });
  const head = ["last seen", "first seen", "count", "status", "who", "client", "request", "model", "reason"];
  const refused = await pagedTable("/audit/denied", { model: query.get("model"), since: query.get("since") }, head,
    (d) => h("tr", { "data-testid": "denied-row" },
      h("td", {}, d.last_at), h("td", {}, d.first_at), h("td", {}, d.count), h("td", {}, d.status || "mixed"),
      h("td", {}, d.user || (d.token_id ? `token ${d.token_id}` : "no token")),
      h("td", {}, d.client || "—"),
      h("td", { class: "mono" }, `${d.method} ${d.route}`, d.operation ? h("span", { class: "muted" }, ` (${d.operation})`) : null),
      h("td", {}, d.model ? h("a", { href: `#/models/${enc(d.model)}` }, d.model) : "—"),
      h("td", {}, d.reason)),
    "denied");
  show(h("h1", {}, "Denied attempts"),
    h("p", { class: "muted" }, "Refused requests, newest first; repeats within a window are one row with a count."),
    form,
    refused);
}

// -- four eyes: deployment requests ------------------------------------------------------------

async function requestsPage(query) {
  const status = query.get("status") || "pending";
  const items = await all("/requests", { status: status === "all" ? null : status, model: query.get("model") });
  const choose = h("div", { class: "toolbar" }, ["pending", "approved", "rejected", "all"].map((s) =>
    s === status ? h("b", {}, s) : h("a", { href: `#/requests?status=${s}` }, s)));
  const row = (r) => {
    const note = h("div", { class: "muted", "data-testid": "request-note" });
    const reason = h("input", { type: "text", placeholder: "reason (optional)", "aria-label": `reason for request ${r.request_id}` });
    const decide = (verb) => async () => {
      for (const b of actions.querySelectorAll("button")) b.disabled = true;
      fill(note, "Sending…");
      try {
        const done = await api(`/requests/${r.request_id}/${verb}`, {}, { method: "POST", json: { reason: reason.value.trim() || null } });
        fill(note, h("span", { class: "ok", "data-testid": "request-decided" }, `${done.status} by ${who(done.decided_by, done.decided_auth)}`));
      } catch (err) {
        for (const b of actions.querySelectorAll("button")) b.disabled = false;
        if (err.status !== 401) fill(note, errorBox(err));
      }
    };
    const actions = r.status === "pending" ? h("div", { class: "toolbar" }, reason,
      h("button", { type: "button", class: "primary", onclick: decide("approve"), "data-testid": `approve-${r.request_id}` }, "Approve"),
      h("button", { type: "button", onclick: decide("reject"), "data-testid": `reject-${r.request_id}` }, "Reject")) : null;
    return h("tr", { "data-testid": "request-row", "data-request": r.request_id },
      h("td", {}, r.request_id),
      h("td", {}, h("a", { href: `#/models/${enc(r.model)}` }, r.model)),
      h("td", {}, r.environment), h("td", {}, r.kind, " ", describeVersions(r.versions)),
      h("td", { "data-testid": "request-by" }, who(r.requested_by, r.requested_auth), h("div", { class: "muted" }, r.requested_at)),
      h("td", {}, r.reason || ""),
      h("td", {}, r.status, r.decided_by ? h("div", { class: "muted", "data-testid": "request-decider" },
        `by ${who(r.decided_by, r.decided_auth)} at ${r.decided_at}`) : null),
      h("td", {}, actions, note));
  };
  show(h("h1", {}, "Deployment requests"),
    h("p", { class: "muted" }, "Changes to protected environments wait here for a second person: one who did not ask for them."),
    choose,
    items.length === 0 ? h("p", { class: "muted", "data-testid": "requests-none" }, `No ${status === "all" ? "" : status + " "}request.`) :
      h("table", { "data-testid": "requests" },
        h("tr", {}, ["#", "model", "environment", "change", "requested by", "reason", "status", ""].map((t) => h("th", {}, t))),
        items.map(row)));
}

/** How a recorded actor proved who they were, as `domain.principals.auth_label` says it. */
function authLabel(auth) {
  if (!auth) return "not recorded";
  if (auth.method === "oidc") return `identity provider ${auth.issuer} (subject ${auth.subject})`;
  if (auth.method === "token") return `API token ${auth.token_id} minted by ${auth.minted_by}`;
  return "asserted, not authenticated";
}

/** Role bindings (administrators): who signs in through the identity provider with which
 * role over which models; grant one, revoke one. The server refuses anything beyond the
 * caller's own token, and says why. */
async function rolesPage(query, message = "") {
  const activeOnly = query.get("active") === "1";
  const bindings = await api("/roles", { include_revoked: activeOnly ? "false" : "true" });
  const status = h("p", { class: "muted", "data-testid": "roles-status" }, message);
  const principal = h("input", { type: "text", placeholder: "user, e.g. alice@bank.example", "aria-label": "principal", required: true, "data-testid": "role-principal" });
  const role = h("select", { "aria-label": "role", "data-testid": "role-role" },
    ["viewer", "contributor", "deployer", "approver", "admin"].map((r) => h("option", { value: r }, r)));
  role.value = "viewer";
  const pattern = h("input", { type: "text", placeholder: "models (all), e.g. fraud-*", "aria-label": "model pattern", "data-testid": "role-pattern" });
  const issuer = h("input", { type: "text", placeholder: "issuer (the server's identity provider)", "aria-label": "issuer", "data-testid": "role-issuer" });
  const form = h("form", { class: "toolbar", "data-testid": "role-grant" }, principal, role, pattern, issuer,
    h("button", { class: "primary", type: "submit" }, "Grant"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { principal: principal.value.trim(), role: role.value };
    if (pattern.value.trim()) body.model_pattern = pattern.value.trim();
    if (issuer.value.trim()) body.issuer = issuer.value.trim();
    try {
      const made = await api("/roles", {}, { method: "POST", json: body });
      await rolesPage(query, `Granted ${made.role} to ${made.principal} (binding ${made.binding_id}).`);
    } catch (err) {
      if (err.status !== 401) fill(status, errorBox(err));
    }
  });
  const revoke = (b) => {
    const button = h("button", { type: "button", "data-testid": "role-revoke" }, "Revoke");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api(`/roles/${enc(b.binding_id)}/revoke`, {}, { method: "POST" });
        await rolesPage(query, `Revoked binding ${b.binding_id} (${b.principal}, ${b.role}).`);
      } catch (err) {
        button.disabled = false;
        if (err.status !== 401) fill(status, errorBox(err));
      }
    });
    return button;
  };
  const head = ["binding", "user", "role", "models", "issuer", "granted", "granted by", "how", "state", ""];
  const table = h("table", { "data-testid": "roles" },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, bindings.map((b) => h("tr", { "data-testid": "role-row" },
      h("td", { class: "mono" }, b.binding_id), h("td", {}, b.principal), h("td", {}, b.role),
      h("td", {}, b.model_pattern || "*"), h("td", { class: "wrap" }, b.issuer), h("td", {}, b.granted_at),
      h("td", {}, b.granted_by), h("td", {}, authLabel(b.granted_auth)),
      h("td", {}, b.revoked_at ? h("span", { class: "muted" }, `revoked ${b.revoked_at} by ${b.revoked_by}`) : h("span", { class: "ok" }, "active")),
      h("td", {}, b.revoked_at ? null : revoke(b))))));
  show(h("h1", {}, "Role bindings"),
    h("p", { class: "muted" }, "People who sign in through the identity provider carry no API token: their roles come from here. "
      + "Nobody grants more than their own token may do; every grant and revocation is in the audit trail."),
    form, status,
    h("p", {}, activeOnly ? h("a", { href: "#/roles" }, "Show revoked bindings too") : h("a", { href: "#/roles?active=1" }, "Show active bindings only")),
    bindings.length === 0 ? h("p", { class: "muted" }, "No role bindings.") : table);
}

// -- signed versions ----------------------------------------------------------------------------

/** Whether a signature counts now, as the server checked it again: valid, or why not. */
function standing(sig) {
  if (sig.standing === "valid") return h("span", { class: "ok", "data-testid": "signature-standing" }, "valid");
  return h("span", { "data-testid": "signature-standing" }, h("span", { class: "bad" }, sig.standing || "unknown"),
    sig.standing_reason ? h("div", { class: "muted" }, sig.standing_reason) : null);
}

const SIGNATURE_KINDS = { model: "model files", provenance: "provenance" };

/** One version: what it is, its signatures (which key, whose, whether each counts now) and a
 * link to its provenance; `provenance`: show the SLSA provenance statement itself. */
async function versionPage(name, number, provenance) {
  const base = `/models/${enc(name)}/versions/${number}`;
  const here = `#/models/${enc(name)}/versions/${number}`;
  const back = h("p", { class: "muted" }, h("a", { href: `#/models/${enc(name)}` }, name), ` · v${number}`);
  if (provenance) {
    const statement = await api(`${base}/provenance`);
    show(h("h1", {}, `${name} v${number}: provenance`), back,
      h("p", { class: "muted" }, "The SLSA provenance v1 statement built from what the version recorded (unsigned; ",
        "its signed form is among the ", h("a", { href: here }, "signatures"), "). The same JSON is at ",
        h("code", {}, `${API}${base}/provenance`), "."),
      h("pre", { "data-testid": "provenance" }, JSON.stringify(statement, null, 2)));
    return;
  }
  const [v, signatures] = await Promise.all([api(base), api(`${base}/signatures`)]);
  const rows = signatures.map((sig) => h("tr", { "data-testid": "signature-row" },
    h("td", {}, SIGNATURE_KINDS[sig.kind] || sig.kind),
    h("td", { class: "mono", title: sig.key_id }, sig.key_id.slice(0, 16)),
    h("td", {}, sig.key_label === null || sig.key_label === undefined ? h("span", { class: "muted" }, "not a trusted key") : sig.key_label),
    h("td", {}, sig.signed_by), h("td", {}, sig.signed_at), h("td", {}, standing(sig))));
  show(h("h1", {}, `${name} v${number}`), back,
    h("table", { class: "kv", "data-testid": "version-summary" },
      h("tr", {}, h("td", {}, "created"), h("td", {}, `${v.created_at} by ${v.created_by}`)),
      h("tr", {}, h("td", {}, "flavor"), h("td", {}, v.flavor)),
      h("tr", {}, h("td", {}, "digest"), h("td", { class: "mono" }, v.digest)),
      h("tr", {}, h("td", {}, "files"), h("td", {}, counted((v.files || []).length, "file"))),
      v.deprecated ? h("tr", {}, h("td", {}, "state"), h("td", { class: "bad" }, "deprecated")) : null),
    h("h2", {}, "Signatures"),
    signatures.length === 0 ? h("p", { class: "muted", "data-testid": "no-signatures" }, "Not signed.") :
      h("table", { "data-testid": "signatures" },
        h("tr", {}, ["statement", "key", "whose key", "signed by", "signed at", "counts now"].map((t) => h("th", {}, t))), rows),
    h("p", {}, h("a", { href: `${here}/provenance`, "data-testid": "provenance-link" }, "Its provenance (JSON)"), " · ",
      h("a", { href: "#/signing" }, "trusted keys and signing policies")));
}

const POLICY_SCOPES = {
  store: () => "every new version is signed",
  model: (p) => `new versions of ${p.name} are signed`,
  environment: (p) => `only signed versions deploy to ${p.name}`,
};

/** The keys trusted to sign versions (revoked ones too) and where signing is required. */
async function signingPage() {
  const [keys, policies] = await Promise.all([api("/signing/keys"), api("/signing/policies")]);
  const keyRows = keys.map((k) => h("tr", { "data-testid": "signing-key-row" },
    h("td", { class: "mono", title: k.key_id }, k.key_id.slice(0, 16)), h("td", {}, k.label),
    h("td", {}, k.added_at, h("div", { class: "muted" }, k.added_by)),
    h("td", {}, k.revoked_at
      ? h("span", {}, h("span", { class: "bad" }, "revoked"), h("div", { class: "muted" }, `${k.revoked_at} by ${k.revoked_by}: ${k.revoked_reason || ""}`))
      : h("span", { class: "ok" }, "trusted")),
    h("td", {}, h("details", {}, h("summary", {}, "PEM"), h("pre", {}, k.public_key)))));
  const policyRows = policies.map((p) => h("tr", { "data-testid": "signing-policy-row" },
    h("td", {}, p.scope), h("td", {}, p.name || "—"),
    h("td", {}, p.enabled ? h("span", { class: "ok" }, "on") : h("span", { class: "muted" }, "off")),
    h("td", {}, (POLICY_SCOPES[p.scope] || (() => ""))(p)),
    h("td", {}, p.set_at, h("div", { class: "muted" }, p.set_by))));
  show(h("h1", {}, "Signing"),
    h("p", { class: "muted" }, "Versions are signed in the OpenSSF model-signing format; a signature counts while its key is trusted here. "
      + "Administrators trust and revoke keys and set the policies (modelrepo signing); every change is in the audit trail."),
    h("h2", {}, "Trusted keys"),
    keys.length === 0 ? h("p", { class: "muted" }, "No key is trusted yet.") :
      h("table", { "data-testid": "signing-keys" },
        h("tr", {}, ["key", "whose", "trusted since", "state", "public key"].map((t) => h("th", {}, t))), keyRows),
    h("h2", {}, "Policies"),
    policies.length === 0 ? h("p", { class: "muted" }, "No signing policy: nothing is signed unless asked, and every environment takes unsigned versions.") :
      h("table", { "data-testid": "signing-policies" },
        h("tr", {}, ["scope", "name", "", "meaning", "set"].map((t) => h("th", {}, t))), policyRows));
}

let checkedToken = null;

/** Show the administrators' links (Roles) to a token whose role is admin; the server refuses
 * anyone else whatever the page shows, so this only spares them a dead end. */
async function adminLinks(token) {
  const link = document.getElementById("nav-roles");
  if (!link || checkedToken === token) return;
  checkedToken = token;
  try {
    const me = await api("/whoami", {}, { redirect: false });
    link.hidden = me.role !== "admin";
  } catch {
    link.hidden = true;
  }
}

// -- routing -------------------------------------------------------------------------------------

async function route() {
  const raw = location.hash.replace(/^#/, "") || "/models";
  const [path, search = ""] = raw.split("?");
  const query = new URLSearchParams(search);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; } // a mistyped %-escape
  });
  const token = sessionStorage.getItem(TOKEN_KEY);
  const signed = Boolean(token || webSession);
  if (!signed) signedIn(false);
  logoutButton.textContent = webSession && !token ? "Sign out" : "Log out";
  if (!signed || parts[0] === "login") { loginPage(); return; }
  adminLinks(token || "web session");
  show(h("p", { class: "muted" }, "Loading…"));
  try {
    if (parts[0] === "models" && parts[1] && parts[2] === "versions" && /^[0-9]+$/.test(parts[3] || "")) {
      await versionPage(parts[1], Number(parts[3]), parts[4] === "provenance");
    } else if (parts[0] === "models" && parts[1]) await modelPage(parts[1], query);
    else if (parts[0] === "decisions") await decisionsPage(parts[1], query);
    else if (parts[0] === "requests") await requestsPage(query);
    else if (parts[0] === "audit") await auditPage(query);
    else if (parts[0] === "denied") await deniedPage(query);
    else if (parts[0] === "roles") await rolesPage(query);
    else if (parts[0] === "signing") await signingPage();
    else await modelsPage();
  } catch (err) {
    if (err.status !== 401) show(errorBox(err));
  }
}

const logoutButton = document.getElementById("logout");

/** Forget the pasted token, or end the session at the server (which forgets the cookie). */
async function logOut() {
  const session = sessionStorage.getItem(TOKEN_KEY) ? null : webSession;
  sessionStorage.removeItem(TOKEN_KEY);
  let message = "Signed out.";
  let endSession = null;
  if (session) {
    try {
      const reply = await send("/ui/logout", {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": session.csrf_token },
      });
      const answer = await reply.json().catch(() => ({}));
      if (!reply.ok) message = new ApiError(reply.status, answer).message;
      endSession = answer.end_session_endpoint || null;
    } catch (err) {
      message = err.message || String(err);
    }
  }
  signedIn(false);
  notice = { message, endSession };
  if (location.hash === "#/login") route();
  else location.hash = "#/login";
}

async function start() {
  await loadSignOn();
  if (!sessionStorage.getItem(TOKEN_KEY)) await loadSession().catch(() => false);
  logoutButton.addEventListener("click", () => { logOut(); });
  window.addEventListener("hashchange", route);
  await route();
}

start();
