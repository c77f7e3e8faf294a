// The UI signed in through the identity provider, under Node against a canned API: the page
// finds the session cookie's user (it never sees the cookie), shows who it is, sends the
// session's CSRF token with every change and no token at all, requests a deployment,
// approves a request, shows how each actor authenticated, and signs out at the server.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FakeElement, FakeNode, FakeText } from "./fakedom.mjs";

const ids = { main: new FakeElement("main"), nav: new FakeElement("nav"), who: new FakeElement("span"), logout: new FakeElement("button") };
const listeners = {};
let hash = "#/requests";
globalThis.Node = FakeNode;
globalThis.document = {
  createElement: (tag) => new FakeElement(tag),
  createElementNS: (_ns, tag) => new FakeElement(tag),
  createTextNode: (text) => new FakeText(text),
  getElementById: (id) => ids[id],
};
globalThis.sessionStorage = { getItem: () => null, setItem: () => { throw new Error("no token is kept"); }, removeItem: () => {} };
globalThis.window = { addEventListener: (type, f) => { (listeners[type] ||= []).push(f); } };
globalThis.location = {
  get hash() { return hash; },
  set hash(v) { hash = v; setTimeout(() => (listeners.hashchange || []).forEach((f) => f()), 0); },
};
globalThis.requestAnimationFrame = (f) => setTimeout(f, 0);

const IDP = "https://login.bank.example";
const CSRF = "csrf-of-the-session";
const oidc = (subject) => ({ method: "oidc", issuer: IDP, subject });
const T = "2026-03-01T10:00:00.000000Z";
const pending = {
  request_id: 7, model: "credit-risk", environment: "production", kind: "deploy", versions: [{ version: 2, weight: 1 }],
  effective_at: null, requested_by: "bob@bank.example", requested_at: T, reason: "better AUC", status: "pending",
  decided_by: null, decided_at: null, decision_reason: null, event_id: null, base_event_id: null,
  requested_auth: oidc("00u-bob"), decided_auth: null,
};
const version = (n) => ({
  model: "credit-risk", version: n, digest: `sha256:${String(n).repeat(64)}`, created_at: T, created_by: "alice@bank.example",
  flavor: "files", params: {}, metrics: {}, tags: {}, lineage: {}, deprecated: false, deleted_at: null,
});
const event = {
  event_id: 3, model: "credit-risk", environment: "production", kind: "deploy", versions: [{ version: 1, weight: 1 }],
  effective_at: T, recorded_at: T, backfill: false, actor: "bob@bank.example", reason: null, request_id: 2,
  approved_by: "alice@bank.example", approved_at: T, actor_auth: oidc("00u-bob"), approved_auth: oidc("00u-alice"),
};
const ROUTES = {
  "GET /api/v1/auth/config": { oidc: { issuer: IDP, client_id: "modelrepo", scopes: "openid email" } },
  "GET /api/v1/session": {
    principal: { user: "alice@bank.example", authentication: oidc("00u-alice"), grants: [{ role: "approver", model_pattern: null }] },
    csrf_token: CSRF, expires_at: T,
  },
  "GET /api/v1/requests": { items: [pending], next_cursor: null },
  "POST /api/v1/requests/7/approve": { ...pending, status: "approved", decided_by: "alice@bank.example", decided_at: T, decided_auth: oidc("00u-alice") },
  "GET /api/v1/models/credit-risk": { model: "credit-risk", created_at: T, created_by: "alice@bank.example", latest_version: 1, version_count: 1 },
  "GET /api/v1/models/credit-risk/versions": { items: [version(1)], next_cursor: null },
  "GET /api/v1/models/credit-risk/timeline": [],
  "GET /api/v1/models/credit-risk/history": { items: [event], next_cursor: null },
  "POST /api/v1/models/credit-risk/environments/production/deploy": { status: "pending", request_id: 8, model: "credit-risk", environment: "production" },
  "POST /ui/logout": { signed_out: true, end_session_endpoint: `${IDP}/logout` },
};
let signedIn = true;
const requests = [];
globalThis.fetch = async (url, init) => {
  const method = init.method || "GET";
  requests.push({ url, method, init });
  const key = `${method} ${url.split("?")[0]}`;
  const reply = (status, body) => ({ status, ok: status < 400, json: async () => structuredClone(body) });
  if (key === "POST /ui/logout") signedIn = false;
  else if (!key.endsWith("/auth/config") && !signedIn) return reply(401, { code: "unauthenticated", message: "no such web session" });
  if (!(key in ROUTES)) return reply(404, { code: "not_found", message: `no ${key}` });
  return reply(key.endsWith("/deploy") ? 202 : 200, ROUTES[key]);
};

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));
const main = ids.main;
const all = (pred) => [...main.walk()].filter((n) => n.tagName && pred(n));
const byTestId = (id) => all((n) => n.attrs["data-testid"] === id);
const text = () => main.textContent;

test("signed in through the identity provider: four eyes with the session's cookie", async () => {
  await import("../../../src/modelrepo/server/ui/app.mjs");
  await settle();
  assert.equal(ids.nav.hidden, false);
  assert.equal(ids.who.hidden, false);
  assert.match(ids.who.textContent, /alice@bank\.example/);
  assert.match(ids.who.textContent, new RegExp(`identity provider ${IDP}`));
  assert.equal(ids.logout.textContent, "Sign out");

  // The requests waiting for a second person, with how the requester authenticated.
  assert.match(text(), /Deployment requests/);
  assert.match(text(), new RegExp(`bob@bank\\.example \\(identity provider ${IDP}\\)`));
  await byTestId("approve-7")[0].fire("click");
  await settle();
  assert.equal(byTestId("request-decided")[0].textContent, `approved by alice@bank.example (identity provider ${IDP})`);
  const approve = requests.find((r) => r.method === "POST" && r.url === "/api/v1/requests/7/approve");
  assert.equal(approve.init.headers["X-CSRF-Token"], CSRF);
  assert.equal(approve.init.credentials, "same-origin");
  assert.deepEqual(JSON.parse(approve.init.body), { reason: null });

  // A version's deployment, requested from its row; the history names who and how.
  location.hash = "#/models/credit-risk";
  await settle(200);
  assert.match(text(), new RegExp(`bob@bank\\.example \\(identity provider ${IDP}\\)`));
  assert.equal(byTestId("history-approver")[0].textContent, `alice@bank.example (identity provider ${IDP})`);
  const [env] = byTestId("deploy-env-1");
  env.value = "production";
  await byTestId("deploy-form-1")[0].fire("submit");
  await settle();
  assert.match(byTestId("deploy-status-1")[0].textContent, /request 8 awaits approval/);
  const deploy = requests.find((r) => r.method === "POST" && r.url.endsWith("/environments/production/deploy"));
  assert.deepEqual(JSON.parse(deploy.init.body), { version: 1 });
  assert.equal(deploy.init.headers["X-CSRF-Token"], CSRF);

  // Signing out ends the session at the server, then offers the provider's own sign-out.
  await ids.logout.fire("click");
  await settle();
  const logout = requests.find((r) => r.url === "/ui/logout");
  assert.equal(logout.method, "POST");
  assert.equal(logout.init.headers["X-CSRF-Token"], CSRF);
  assert.equal(ids.nav.hidden, true);
  assert.equal(ids.who.hidden, true);
  assert.match(text(), /Signed out\./);
  const [sso] = byTestId("sso");
  assert.equal(sso.attrs.href, "/ui/login?next=%2Fui%2F");
  assert.equal(byTestId("provider-sign-out")[0].attrs.href, `${IDP}/logout`);

  for (const { url, method, init } of requests) {
    assert.ok(url.startsWith("/api/v1/") || url === "/ui/logout", url);
    assert.equal(init.headers.Authorization, undefined, `${method} ${url} sends no token`);
    if (method !== "GET") assert.equal(init.headers["X-CSRF-Token"], CSRF, `${method} ${url}`);
  }
});
