// The UI's pages under Node: a minimal stand-in for the DOM and a canned API, enough to
// walk login, models, a model (versions, timeline, live, diff), a decision and the audit,
// and to check every request goes to /api/v1 of this origin with the token in a header.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FakeElement, FakeNode, FakeText } from "./fakedom.mjs";

const ids = { main: new FakeElement("main"), nav: new FakeElement("nav"), who: new FakeElement("span"), logout: new FakeElement("button"), "nav-roles": new FakeElement("a") };
ids["nav-roles"].hidden = true;
const stored = {};
const listeners = {};
let hash = "";
globalThis.Node = FakeNode;
globalThis.document = {
  createElement: (tag) => new FakeElement(tag),
  createElementNS: (_ns, tag) => new FakeElement(tag),
  createTextNode: (text) => new FakeText(text),
  getElementById: (id) => ids[id],
};
globalThis.sessionStorage = {
  getItem: (k) => stored[k] ?? null, setItem: (k, v) => { stored[k] = String(v); }, removeItem: (k) => { delete stored[k]; },
};
globalThis.window = { addEventListener: (type, f) => { (listeners[type] ||= []).push(f); } };
globalThis.location = {
  get hash() { return hash; },
  set hash(v) { hash = v; setTimeout(() => (listeners.hashchange || []).forEach((f) => f()), 0); },
};
globalThis.requestAnimationFrame = (f) => setTimeout(f, 0);

const TOKEN = "mr_0123456789ab_secret";
const T0 = Date.UTC(2024, 0, 1);
const iso = (t) => new Date(t).toISOString().replace(".000Z", ".000000Z");
const intervals = [];
for (let k = 0; k < 2000; k++) {
  intervals.push({
    environment: k % 2 ? "staging" : "production", versions: k % 5 ? [{ version: 1 + (k % 2), weight: 1 }] : [{ version: 1, weight: 0.7 }, { version: 2, weight: 0.3 }],
    from: iso(T0 + k * 3600000), to: k >= 1998 ? null : iso(T0 + (k + 2) * 3600000), event_id: k + 1, kind: "deploy",
    backfill: k < 100, actor: "alice", approved_by: k === 1500 ? "bob" : null,
  });
}
const version = (n) => ({
  model: "credit-risk", version: n, digest: `sha256:${String(n).repeat(64)}`, created_at: iso(T0), created_by: "alice",
  description: "", flavor: "files", params: { depth: n + 2, class_weight: null }, metrics: { auc: 0.8 + n / 100 }, tags: { team: "risk" },
  signature: null, lineage: { data: ["s3://bucket/train.csv"], code: { commit: "abcdef1234567" }, environment: null },
  deprecated: false, deleted_at: null, deleted_by: null, size: 10, files: [],
});
const UNKNOWN = { since: null, until: iso(T0 + 48 * 3600000), reason: "imported from MLflow (sqlite:///m.db), which keeps no history", earliest_at: iso(T0) };
// A model name as MLflow allows it: spaces, '@', parentheses, '?', '#', '%', accents.
const ODD = "risk@v2 (EU)?#% modèle";
const event = { event_id: 1501, environment: "staging", kind: "deploy", versions: [{ version: 2, weight: 1 }], effective_at: iso(T0), actor: "alice", backfill: false, approved_by: "bob" };
const ROUTES = {
  "/api/v1/models": { items: [{ model: "credit-risk", created_at: iso(T0), created_by: "alice", latest_version: 2, version_count: 2 }], next_cursor: null },
  "/api/v1/models/credit-risk": { model: "credit-risk", created_at: iso(T0), created_by: "alice", latest_version: 2, version_count: 2 },
  "/api/v1/models/credit-risk/versions": { items: [version(1), version(2)], next_cursor: null },
  "/api/v1/models/credit-risk/timeline": intervals,
  "/api/v1/models/credit-risk/environments/production/live": { environment: "production", versions: [{ version: 1, weight: 1 }], event: { ...event, environment: "production" } },
  "/api/v1/models/credit-risk/environments/staging/live": { environment: "staging", versions: [{ version: 2, weight: 1 }], event },
  "/api/v1/models/credit-risk/diff": {
    a: "credit-risk@1", b: "credit-risk@2", same_content: false, metadata: {}, params: { depth: { old: 3, new: 4 } },
    metrics: { auc: { old: 0.81, new: 0.82, delta: 0.01 } }, tags: {},
    files: { added: [], removed: [], modified: ["model.json"], unchanged: 1 }, text_diffs: { "model.json": "-<b>1\n+2" },
  },
  "/api/v1/decisions/d-1": {
    decision_id: "d-1", model: "credit-risk", version: 2, version_source: "resolved", environment: "staging",
    decided_at: iso(T0 + 1500 * 3600000), recorded_at: iso(T0 + 1500 * 3600000), deployment: event,
    approval: { approved_by: "bob", approved_at: iso(T0 + 3600000), request_id: null }, matches_history: true, output: 1, inputs_mode: "inline", inputs_digest: "sha256:00",
  },
  [`/api/v1/models/${encodeURIComponent(ODD)}`]: { model: ODD, created_at: iso(T0), created_by: "alice", latest_version: 0, version_count: 0 },
  [`/api/v1/models/${encodeURIComponent(ODD)}/versions`]: { items: [], next_cursor: null },
  [`/api/v1/models/${encodeURIComponent(ODD)}/timeline`]: [],
  "/api/v1/models/empty": { model: "empty", created_at: iso(T0), created_by: "alice", latest_version: 0, version_count: 0 },
  "/api/v1/models/empty/versions": { items: [], next_cursor: null },
  "/api/v1/models/empty/timeline": [],
  // Imported from a registry that keeps no history: unknown before the first observation.
  "/api/v1/models/observed": { model: "observed", created_at: iso(T0), created_by: "alice", latest_version: 1, version_count: 1 },
  "/api/v1/models/observed/versions": { items: [version(1)], next_cursor: null },
  "/api/v1/models/observed/timeline": [
    { environment: "production", versions: [], from: null, to: iso(T0 + 48 * 3600000), event_id: 7, kind: "observe",
      backfill: true, actor: "importer", approved_by: null, unknown: UNKNOWN },
    { environment: "production", versions: [{ version: 1, weight: 1 }], from: iso(T0 + 48 * 3600000), to: null, event_id: 7,
      kind: "observe", backfill: true, actor: "importer", approved_by: null, unknown: null },
  ],
  "/api/v1/models/observed/environments/production/live": {
    environment: "production", versions: [], unknown: UNKNOWN,
    event: { event_id: 7, environment: "production", kind: "observe", versions: [{ version: 1, weight: 1 }], effective_at: iso(T0 + 48 * 3600000), actor: "importer", backfill: true, approved_by: null },
  },
  "/api/v1/decisions/d-unknown": {
    decision_id: "d-unknown", model: "observed", version: 1, version_source: "given", environment: "production",
    decided_at: iso(T0 + 3600000), recorded_at: iso(T0 + 3600000), deployment: null, live_unknown: UNKNOWN, flags: ["live_unknown"],
    approval: null, matches_history: false, output: 1, inputs_mode: "inline", inputs_digest: "sha256:00",
  },
  // Signed versions: the server says whether each signature counts now, and why not.
  "/api/v1/models/credit-risk/versions/1": version(1),
  "/api/v1/models/credit-risk/versions/2": version(2),
  "/api/v1/models/credit-risk/versions/1/signatures": [
    { model: "credit-risk", version: 1, kind: "model", key_id: "ab".repeat(32), bundle_sha256: "00", signed_at: iso(T0), signed_by: "alice",
      bundle: "{}", key_label: "the store's version key", standing: "valid", standing_reason: null },
    { model: "credit-risk", version: 1, kind: "provenance", key_id: "cd".repeat(32), bundle_sha256: "01", signed_at: iso(T0 + 1000), signed_by: "carl",
      bundle: "{}", key_label: "<b>Carl</b>'s laptop", standing: "key revoked", standing_reason: "key cdcdcdcdcdcdcdcd that signed it was revoked (laptop stolen)" },
    { model: "credit-risk", version: 1, kind: "model", key_id: "ef".repeat(32), bundle_sha256: "02", signed_at: iso(T0 + 2000), signed_by: "eve",
      bundle: "{}", key_label: null, standing: "not trusted", standing_reason: "it is signed by key efefefefefefefef, which is not trusted here" },
  ],
  "/api/v1/models/credit-risk/versions/2/signatures": [],
  "/api/v1/models/credit-risk/versions/1/provenance": {
    _type: "https://in-toto.io/Statement/v1", predicateType: "https://slsa.dev/provenance/v1", subject: [{ name: "<script>x</script>.bin", digest: { sha256: "00" } }],
  },
  "/api/v1/signing/keys": [
    { key_id: "ab".repeat(32), public_key: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", label: "the store's version key",
      added_at: iso(T0), added_by: "alice", revoked_at: null, revoked_by: null, revoked_reason: null, active: true },
    { key_id: "cd".repeat(32), public_key: "-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----\n", label: "<b>Carl</b>'s laptop",
      added_at: iso(T0), added_by: "alice", revoked_at: iso(T0 + 5000), revoked_by: "alice", revoked_reason: "laptop stolen", active: false },
  ],
  "/api/v1/signing/policies": [
    { scope: "environment", name: "prod", enabled: true, set_at: iso(T0), set_by: "alice" },
    { scope: "store", name: "", enabled: false, set_at: iso(T0), set_by: "alice" },
  ],
  "/api/v1/whoami": { user: "alice", role: "admin", model_pattern: null, token_id: "0123456789ab" },
  "/api/v1/audit/verify": { ok: true, size: 42, root_hash: "ab".repeat(32), checkpoints_checked: 1, first_bad_seq: null, problems: [] },
};
// Paginated like the API: `limit` items after `cursor`, `next_cursor` while more remain.
const decisions = Array.from({ length: 120 }, (_, k) => ({
  decision_id: `d-${k + 1}`, model: "credit-risk", version: 1 + (k % 2), environment: k % 3 ? "production" : "staging",
  decided_at: iso(T0 + k * 60000), recorded_at: iso(T0 + k * 60000), output: k === 0 ? "<script>alert(1)</script>" : k % 2,
}));
const entries = Array.from({ length: 70 }, (_, k) => ({
  seq: k + 1, at: iso(T0 + k * 1000), actor: "alice", kind: k % 2 ? "deploy" : "register",
  subject: k % 10 ? "model:credit-risk" : "model:<b>fraud</b>", change: { version: k }, store: "s",
}));
const denials = Array.from({ length: 55 }, (_, k) => ({
  id: 55 - k, first_at: iso(T0 - k * 60000), last_at: iso(T0 + 60000 - k * 60000), count: k ? 1 : 31, user: null,
  token_id: "ffffffffffff", client: "10.0.0.9", method: "POST", route: "/api/v1/models/{name}/deployments",
  action: "deploy", model: k % 5 === 4 ? "fraud" : "credit-risk",
  reason: k ? "unknown API token" : "<img src=x onerror=alert(1)>unknown API token", status: 401,
}));
function paged(items, query) {
  const after = Number(query.get("cursor") || 0);
  const limit = Number(query.get("limit") || 100);
  const page = items.slice(after, after + limit);
  return { items: page, next_cursor: after + limit < items.length ? String(after + limit) : null };
}
const PAGED = {
  "/api/v1/models/credit-risk/decisions": (q) => paged(decisions.filter((d) =>
    (!q.get("env") || d.environment === q.get("env")) && (!q.get("version") || d.version === Number(q.get("version")))), q),
  "/api/v1/audit/log": (q) => paged(entries.filter((e) => !q.get("subject") || e.subject === q.get("subject")), q),
  "/api/v1/audit/denied": (q) => paged(denials.filter((d) => !q.get("model") || d.model === q.get("model")), q),
};
// Role bindings, kept like the server keeps them: granted and revoked by POST.
const IDP = "https://idp.bank.example";
const roles = [{
  binding_id: "0123456789ab", issuer: IDP, principal: "<i>erin</i>@bank.example", role: "deployer", model_pattern: "fraud-*",
  granted_at: iso(T0), granted_by: "alice", granted_auth: { method: "oidc", issuer: IDP, subject: "00u1" }, revoked_at: null, revoked_by: null,
}];
function rolesPost(path, init) {
  if (path === "/api/v1/roles") {
    const body = JSON.parse(init.body);
    if (body.principal.startsWith("svc:")) return [422, { code: "invalid_input", message: `${body.principal} is a service account` }];
    const made = { binding_id: `00000000000${roles.length}`, issuer: body.issuer || IDP, principal: body.principal, role: body.role,
      model_pattern: body.model_pattern ?? null, granted_at: iso(T0 + 1000), granted_by: "alice",
      granted_auth: { method: "token", token_id: "0123456789ab", minted_by: "root" }, revoked_at: null, revoked_by: null };
    roles.push(made);
    return [201, made];
  }
  const found = roles.find((b) => path === `/api/v1/roles/${b.binding_id}/revoke`);
  if (!found) return [404, { code: "not_found", message: `no ${path}` }];
  Object.assign(found, { revoked_at: iso(T0 + 2000), revoked_by: "alice" });
  return [200, found];
}

let slow = null; // a token whose answers take a while, to look at the page meanwhile
const requests = [];
globalThis.fetch = async (url, init) => {
  requests.push({ url, init });
  const path = url.split("?")[0];
  const auth = init.headers.Authorization;
  const reply = (status, body) => ({ status, ok: status < 400, json: async () => body });
  if (slow && auth === `Bearer ${slow}`) await settle(150);
  if (auth === `Bearer ${TOKEN}` && path in PAGED) return reply(200, PAGED[path](new URLSearchParams(url.split("?")[1] || "")));
  if (auth !== `Bearer ${TOKEN}`) return reply(401, { code: "unauthenticated", message: "unknown API token" });
  if (init.method === "POST") return reply(...rolesPost(path, init));
  if (path === "/api/v1/roles") {
    const active = new URLSearchParams(url.split("?")[1] || "").get("include_revoked") === "false";
    return reply(200, structuredClone(roles.filter((b) => !active || !b.revoked_at)));
  }
  if (!(path in ROUTES)) return reply(404, { code: "not_found", message: `no ${path}` });
  return reply(200, structuredClone(ROUTES[path]));
};

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));
const main = ids.main;
const all = (pred) => [...main.walk()].filter((n) => n.tagName && pred(n));
const text = () => main.textContent;

test("the pages, end to end against a canned API", async () => {
  await import("../../../src/modelrepo/server/ui/app.mjs");
  await settle();
  assert.match(text(), /Log in/);
  assert.equal(ids.nav.hidden, true);
  const [form] = all((n) => n.tagName === "form");
  const [input] = all((n) => n.tagName === "input");
  assert.equal(input.attrs.type, "password");

  input.value = "mr_wrong_token";
  await form.fire("submit");
  await settle();
  assert.match(text(), /401 unauthenticated/);
  assert.equal(stored["modelrepo.token"], undefined);

  input.value = ` ${TOKEN} `;
  await form.fire("submit");
  await settle();
  assert.equal(hash, "#/models");
  assert.equal(ids.nav.hidden, false);
  await settle();
  assert.equal(ids["nav-roles"].hidden, false, "an admin's token is shown the Roles page");
  assert.match(text(), /credit-risk/);

  location.hash = "#/models/credit-risk?at=2024-02-01T00:30:00Z";
  await settle(300);
  assert.match(text(), /depth=3/);
  assert.match(text(), /class_weight=null/); // said, not left blank
  assert.match(text(), /code abcdef1234 · 1 data/);
  const [svg] = all((n) => n.tagName === "svg");
  const rects = [...svg.walk()].filter((n) => n.tagName === "rect");
  assert.ok(rects.length > 100 && rects.length < 3000, `${rects.length} rects`);
  assert.ok(rects.some((r) => r.attrs.class === "bf"), "backfills are marked");
  assert.ok([...svg.walk()].some((n) => n.attrs && n.attrs.class === "appr"), "approvals are marked");
  assert.match(text(), /Live at 2024-02-01T00:30:00Z\s+\(answered by the registry\)/);
  assert.match(text(), /staging v2 \S+ 1501 alice bob/);

  const [chart] = all((n) => n.attrs.class === "chart");
  await chart.fire("pointerdown", { clientX: 400, clientY: 30, pointerId: 1 });
  assert.match(text(), /\(from the chart\)/);
  await chart.fire("pointerup", { clientX: 400, clientY: 30 });
  await settle();
  assert.match(text(), /\(answered by the registry\)/);
  await chart.fire("wheel", { deltaY: -100, deltaX: 0, clientX: 600 });
  await settle();

  const boxes = all((n) => n.tagName === "input" && n.attrs.type === "checkbox");
  const [compare] = all((n) => n.tagName === "button" && /Compare/.test(n.textContent));
  assert.equal(compare.disabled, true);
  for (const box of boxes) { box.checked = true; await box.fire("change"); }
  assert.equal(compare.disabled, false);
  await compare.fire("click");
  await settle();
  assert.match(text(), /Diff v1 → v2/);
  assert.match(text(), /depth\s+3\s+4/);
  assert.match(text(), /auc\s+0\.81\s+0\.82\s+\+0\.01000/);
  assert.ok(all((n) => n.tagName === "pre").some((n) => n.textContent === "-<b>1\n+2"), "a diff is text");

  const [known] = all((n) => n.attrs["aria-label"] === "as known at");
  known.value = "last tuesday";
  await all((n) => n.tagName === "button" && n.textContent === "Reload")[0].fire("click");
  assert.match(text(), /as known at: not an ISO-8601 instant/);

  location.hash = "#/models/empty";
  await settle();
  assert.match(text(), /Never deployed/);
  const [instant] = all((n) => n.attrs["aria-label"] === "instant");
  instant.value = "2024-01-01";
  await all((n) => n.tagName === "form" && n.attrs.class === "toolbar")[0].fire("submit");
  assert.match(text(), /Never deployed/);

  // An unknown stretch is a grey band and says "unknown", never a version.
  location.hash = "#/models/observed?at=2024-01-01T12:00:00Z";
  await settle(300);
  const [observedSvg] = all((n) => n.tagName === "svg");
  const bands = [...observedSvg.walk()].filter((n) => n.attrs && n.attrs.class === "unknown");
  assert.equal(bands.length, 1);
  assert.match(bands[0].textContent, /^production: unknown before 2024-01-03T00:00:00\.000000Z \(imported from MLflow/);
  assert.equal(all((n) => n.attrs["data-testid"] === "legend-unknown").length, 1);
  const [answer] = all((n) => n.attrs["data-testid"] === "live-versions");
  assert.equal(answer.textContent, `unknown before ${iso(T0 + 48 * 3600000)} (imported from MLflow (sqlite:///m.db), which keeps no history)`);
  assert.doesNotMatch(answer.textContent, /v1/);

  location.hash = "#/decisions/d-unknown";
  await settle();
  const [unknownDeployment] = all((n) => n.attrs["data-testid"] === "deployment-unknown");
  assert.match(unknownDeployment.textContent, /^unknown before /);
  assert.match(text(), /matches the history\s+unknown/);
  location.hash = `#/models/${encodeURIComponent(ODD)}`;
  await settle();
  assert.match(text(), /Never deployed/);
  assert.ok(text().includes(ODD), "the name is shown as it is");
  const [auditLink] = all((n) => n.tagName === "a" && /its audit log/.test(n.textContent));
  assert.equal(auditLink.attrs.href, `#/audit?subject=${encodeURIComponent(`model:${ODD}`)}`);
  const [decisionsLink] = all((n) => n.tagName === "a" && /its decisions/.test(n.textContent));
  assert.equal(decisionsLink.attrs.href, `#/decisions?model=${encodeURIComponent(ODD)}`);
  for (const what of ["", "/versions", "/timeline"]) {
    const path = `/api/v1/models/${encodeURIComponent(ODD)}${what}`;
    assert.ok(requests.some((r) => r.url.split("?")[0] === path), path);
  }

  location.hash = "#/decisions/d-1";
  await settle();
  assert.match(text(), /Decision d-1/);
  assert.match(text(), /event 1501: v2 from .* by alice/);
  assert.match(text(), /matches the history\s+yes/);
  const [approval] = all((n) => n.attrs["data-testid"] === "approval");
  assert.match(approval.textContent, /approved by\s+bob\s+approved at\s+2024-01-01T01:00:00\.000000Z\s+request\s+—/);
  assert.doesNotMatch(approval.textContent, /approved_by|approved_at|request_id/);
  const [then] = all((n) => n.tagName === "a" && /what was live then/.test(n.textContent));
  assert.equal(then.attrs.href, `#/models/credit-risk?at=${encodeURIComponent(iso(T0 + 1500 * 3600000))}`);

  location.hash = "#/decisions/missing";
  await settle();
  assert.match(text(), /404 not_found/);

  // Browsing a model's decisions: filters go to the API, pages follow next_cursor.
  location.hash = "#/decisions";
  await settle();
  assert.match(text(), /Name a model/);
  const filter = (name) => all((n) => n.attrs["data-testid"] === `filter-${name}`)[0];
  filter("model").value = "credit-risk";
  filter("env").value = "production";
  await filter("decisions").fire("submit");
  assert.equal(hash, "#/decisions?model=credit-risk&env=production");
  await settle();
  const rows = () => all((n) => n.attrs["data-testid"] === "decision-row");
  assert.equal(rows().length, 50);
  assert.ok(requests.some(({ url }) => url === "/api/v1/models/credit-risk/decisions?env=production&limit=50"));
  const [more] = all((n) => n.attrs["data-testid"] === "decisions-more");
  assert.equal(more.hidden, false);
  await more.fire("click");
  await settle();
  assert.equal(rows().length, 80); // every production decision of the 120
  assert.equal(more.hidden, true);
  assert.ok(requests.some(({ url }) => url.endsWith("decisions?env=production&limit=50&cursor=50")));
  assert.ok(rows().every((r) => /production/.test(r.textContent)));
  const [first] = all((n) => n.tagName === "a" && n.textContent === "d-2");
  assert.equal(first.attrs.href, "#/decisions/d-2");
  location.hash = "#/decisions?model=credit-risk&version=1&since=2024-01-01T00:00:00Z&until=2024-02-01T00:00:00Z";
  await settle();
  assert.ok(requests.some(({ url }) => url === "/api/v1/models/credit-risk/decisions?version=1&since=2024-01-01T00%3A00%3A00Z&until=2024-02-01T00%3A00%3A00Z&limit=50"));
  assert.match(text(), /<script>alert\(1\)<\/script>/); // an output, as text
  assert.equal(all((n) => n.tagName === "script").length, 0);
  location.hash = "#/decisions?model=nobody";
  await settle();
  assert.match(text(), /404 not_found/);

  location.hash = "#/audit";
  await settle();
  assert.match(text(), /intact/);
  assert.match(text(), /entries\s+42/);
  // The log itself, beside the verdict: paginated, filtered by subject, shown as text.
  const logRows = () => all((n) => n.attrs["data-testid"] === "audit-row");
  assert.equal(logRows().length, 50);
  assert.match(logRows()[1].textContent, /^2 \S+ alice deploy model:credit-risk \{"version":1\}$/);
  await all((n) => n.attrs["data-testid"] === "audit-log-more")[0].fire("click");
  await settle();
  assert.equal(logRows().length, 70);
  assert.match(text(), /model:<b>fraud<\/b>/);
  assert.equal(all((n) => n.tagName === "b" && n.textContent === "fraud").length, 0);
  filter("subject").value = "model:credit-risk";
  await filter("audit").fire("submit");
  await settle();
  assert.equal(hash, "#/audit?subject=model%3Acredit-risk");
  assert.equal(logRows().length, 50);
  assert.ok(logRows().every((r) => /model:credit-risk/.test(r.textContent)));
  assert.ok(requests.some(({ url }) => url === "/api/v1/audit/log?subject=model%3Acredit-risk&limit=50"));

  location.hash = "#/denied?model=credit-risk";
  await settle();
  assert.match(text(), /Denied attempts/);
  assert.match(text(), /token ffffffffffff/);
  assert.match(text(), /POST \/api\/v1\/models\/\{name\}\/deployments/);
  assert.match(text(), /<img src=x onerror=alert\(1\)>unknown API token/); // as text
  assert.equal(all((n) => n.tagName === "img").length, 0);
  assert.ok(requests.some(({ url }) => url === "/api/v1/audit/denied?model=credit-risk&limit=50"));
  const deniedRows = () => all((n) => n.attrs["data-testid"] === "denied-row");

  location.hash = "#/denied";
  await settle();
  assert.equal(deniedRows().length, 50);
  const [moreDenied] = all((n) => n.attrs["data-testid"] === "denied-more");
  assert.equal(moreDenied.hidden, false);
  await moreDenied.fire("click");
  await settle();
  assert.equal(deniedRows().length, 55);
  assert.equal(moreDenied.hidden, true);
  assert.ok(requests.some(({ url }) => url === "/api/v1/audit/denied?limit=50&cursor=50"));

  // A version's page: its signatures (whose key, whether each counts now) and its provenance.
  location.hash = "#/models/credit-risk";
  await settle(300);
  const versionLinks = all((n) => n.attrs["data-testid"] === "version-link");
  assert.deepEqual(versionLinks.map((a) => a.attrs.href), ["#/models/credit-risk/versions/1", "#/models/credit-risk/versions/2"]);
  location.hash = versionLinks[0].attrs.href;
  await settle();
  assert.match(text(), /credit-risk v1/);
  const signatureRows = all((n) => n.attrs["data-testid"] === "signature-row");
  assert.equal(signatureRows.length, 3);
  assert.match(signatureRows[0].textContent, /^model files abababababababab the store's version key alice \S+ valid$/);
  assert.match(signatureRows[1].textContent, /^provenance cdcdcdcdcdcdcdcd <b>Carl<\/b>'s laptop carl \S+ key revoked key cdcdcdcdcdcdcdcd that signed it was revoked \(laptop stolen\)$/);
  assert.match(signatureRows[2].textContent, /not a trusted key eve \S+ not trusted it is signed by key efefefefefefefef/);
  assert.equal(all((n) => n.tagName === "b" && n.textContent === "Carl").length, 0, "a label is text");
  const standings = all((n) => n.attrs["data-testid"] === "signature-standing");
  assert.equal(standings[0].attrs.class, "ok");
  const [provenanceLink] = all((n) => n.attrs["data-testid"] === "provenance-link");
  assert.equal(provenanceLink.attrs.href, "#/models/credit-risk/versions/1/provenance");
  location.hash = provenanceLink.attrs.href;
  await settle();
  const [statement] = all((n) => n.attrs["data-testid"] === "provenance");
  assert.equal(JSON.parse(statement.textContent).predicateType, "https://slsa.dev/provenance/v1");
  assert.equal(all((n) => n.tagName === "script").length, 0);
  location.hash = "#/models/credit-risk/versions/2";
  await settle();
  assert.equal(all((n) => n.attrs["data-testid"] === "no-signatures").length, 1);
  location.hash = "#/models/credit-risk/versions/9";
  await settle();
  assert.match(text(), /404 not_found/);

  // The trusted keys (revoked ones said so, with why) and the signing policies.
  location.hash = "#/signing";
  await settle();
  const keyRows = all((n) => n.attrs["data-testid"] === "signing-key-row");
  assert.equal(keyRows.length, 2);
  assert.match(keyRows[0].textContent, /^abababababababab the store's version key \S+ alice trusted PEM/);
  assert.match(keyRows[1].textContent, /<b>Carl<\/b>'s laptop .* revoked \S+ by alice: laptop stolen/);
  const policyRows = all((n) => n.attrs["data-testid"] === "signing-policy-row");
  assert.match(policyRows[0].textContent, /^environment prod on only signed versions deploy to prod/);
  assert.match(policyRows[1].textContent, /^store — off every new version is signed/);

  // Role bindings: listed as text, granted through the form, revoked with a button.
  location.hash = "#/roles";
  await settle();
  assert.match(text(), /Role bindings/);
  const roleRows = () => all((n) => n.attrs["data-testid"] === "role-row");
  assert.equal(roleRows().length, 1);
  assert.match(roleRows()[0].textContent, /<i>erin<\/i>@bank\.example deployer fraud-\* .* identity provider https:\/\/idp\.bank\.example \(subject 00u1\) active Revoke/);
  assert.equal(all((n) => n.tagName === "i").length, 0);
  const field = (name) => all((n) => n.attrs["data-testid"] === `role-${name}`)[0];
  field("principal").value = " frank@bank.example ";
  field("role").value = "approver";
  field("pattern").value = "fraud-cards";
  await field("grant").fire("submit");
  await settle();
  assert.equal(roleRows().length, 2);
  assert.match(text(), /Granted approver to frank@bank\.example \(binding 000000000001\)/);
  const granted = requests.filter(({ init }) => init.method === "POST").at(-1);
  assert.equal(granted.url, "/api/v1/roles");
  assert.equal(granted.init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(granted.init.body), { principal: "frank@bank.example", role: "approver", model_pattern: "fraud-cards" });
  assert.match(roleRows()[1].textContent, /API token 0123456789ab minted by root/);
  field("principal").value = "svc:scorer";
  await field("grant").fire("submit");
  await settle();
  assert.match(text(), /422 invalid_input: svc:scorer is a service account/);
  assert.equal(roleRows().length, 2);
  await field("revoke").fire("click");
  await settle();
  assert.match(text(), /Revoked binding 0123456789ab/);
  assert.match(roleRows()[0].textContent, /revoked \S+ by alice/);
  assert.equal(all((n) => n.attrs["data-testid"] === "role-revoke").length, 1);
  location.hash = "#/roles?active=1";
  await settle();
  assert.equal(roleRows().length, 1);
  assert.ok(requests.some(({ url }) => url === "/api/v1/roles?include_revoked=false"));

  await ids.logout.fire("click");
  await settle();
  assert.deepEqual(stored, {});
  assert.match(text(), /Log in/);
  assert.equal(ids.nav.hidden, true);

  // A token left in the tab is not a sign-in: no navigation until the API accepts it.
  slow = "mr_stale";
  stored["modelrepo.token"] = slow;
  location.hash = "#/models";
  await settle(30);
  assert.equal(ids.nav.hidden, true, "the navigation waits for the API's answer");
  await settle(300);
  assert.equal(ids.nav.hidden, true);
  assert.equal(ids["nav-roles"].hidden, true);
  assert.match(text(), /Log in/);

  for (const { url, init } of requests) {
    assert.ok(url.startsWith("/api/v1/"), url);
    assert.ok(!url.includes("mr_"), url);
    assert.equal(init.credentials, "omit");
  }
});
