// Pure functions of the UI's timeline chart: `node --test tests/server/js/` (run by pytest
// through tests/server/test_ui.py when Node is installed; no npm package needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  counted, describeServing, describeUnknown, describeVersions, formatInstant, initialWindow, lanes, layout, liveAt, parseInstant, ticks,
} from "../../../src/modelrepo/server/ui/timeline.mjs";

const T = Date.UTC(2025, 0, 1);
const H = 3600000;

test("instants parse with or without a zone, and round-trip", () => {
  assert.equal(parseInstant("2025-01-01T00:00:00Z"), T);
  assert.equal(parseInstant("2025-01-01"), T);
  assert.equal(parseInstant("2025-01-01 01:30"), T + 1.5 * H);
  assert.equal(parseInstant("2025-01-01T02:00:00+02:00"), T);
  assert.equal(parseInstant("2024-12-31T19:00:00-0500"), T);
  assert.equal(parseInstant("2025-01-01T00:00:00.250Z"), T + 250);
  for (const bad of ["", "yesterday", "2025-02-30", "2025-01-01T25:00Z", "2025-01-01T00:00:00+"]) {
    assert.equal(parseInstant(bad), null, bad);
  }
  assert.equal(formatInstant(T), "2025-01-01T00:00:00Z");
  assert.equal(formatInstant(T + 5), "2025-01-01T00:00:00.005Z");
});

function interval(env, from, to, version, extra = {}) {
  return {
    environment: env, versions: [{ version, weight: 1 }], from: formatInstant(from),
    to: to === null ? null : formatInstant(to), event_id: from, kind: "deploy", backfill: false,
    actor: "a", approved_by: null, ...extra,
  };
}

test("lanes group by environment in time order; an open interval runs to now", () => {
  const data = lanes([interval("prod", T + H, null, 2), interval("prod", T, T + H, 1),
    interval("canary", T, T + 2 * H, 3)], T + 5 * H);
  assert.deepEqual(data.envs, ["canary", "prod"]);
  assert.deepEqual(data.byEnv.get("prod").map((i) => i.versions[0].version), [1, 2]);
  assert.equal(data.start, T);
  assert.equal(data.end, T + 5 * H);
  assert.equal(data.lastChange, T + 2 * H);
  const prod = data.byEnv.get("prod");
  assert.equal(liveAt(prod, T + 30 * 60000).versions[0].version, 1);
  assert.equal(liveAt(prod, T + H).versions[0].version, 2);
  assert.equal(liveAt(prod, T + 50 * H).versions[0].version, 2);
  assert.equal(liveAt(prod, T - 1), null);
  assert.equal(liveAt(data.byEnv.get("canary"), T + 3 * H), null);
});

test("intervals narrower than a pixel merge, at most one bar per pixel column", () => {
  const items = [];
  for (let k = 0; k < 10000; k++) {
    items.push(interval("prod", T + k * 60000, T + (k + 1) * 60000, (k % 3) + 1,
      { backfill: k === 5000, approved_by: k === 7 ? "b" : null }));
  }
  items.push(interval("prod", T + 10000 * 60000, T + 20000 * 60000, 9));
  const data = lanes(items, T + 20000 * 60000);
  const lane = data.byEnv.get("prod");
  const bars = layout(lane, data.start, data.end, 1000);
  assert.ok(bars.length <= 1001, `${bars.length} bars`);
  assert.equal(bars.reduce((n, b) => n + b.count, 0), 10001);
  const wide = bars.at(-1);
  assert.equal(wide.count, 1);
  assert.equal(wide.item.versions[0].version, 9);
  assert.ok(Math.abs(wide.x1 - 1000) < 1e-6 && Math.abs(wide.x0 - 500) < 1e-6);
  assert.ok(bars.some((b) => b.backfill) && bars.some((b) => b.approved));
  // Zoomed in on a few minutes, every interval is a bar of its own.
  const zoomed = layout(lane, T + 100 * 60000, T + 110 * 60000, 1000);
  assert.equal(zoomed.length, 10);
  assert.ok(zoomed.every((b) => b.count === 1));
});

test("ticks are round and inside the range; splits are described with weights", () => {
  const { step, ticks: marks } = ticks(T + 1, T + 10 * 86400000, 5);
  assert.equal(step, 1728e5);
  assert.ok(marks.every((t) => t >= T && t <= T + 10 * 86400000 && t % step === 0));
  assert.equal(describeVersions([{ version: 3, weight: 0.7 }, { version: 4, weight: 0.3 }]), "v3 70% · v4 30%");
  assert.equal(describeVersions([]), "nothing");
});

test("counts agree with their nouns", () => {
  assert.equal(counted(1, "version"), "1 version");
  assert.equal(counted(0, "version"), "0 versions");
  assert.equal(counted(3, "file"), "3 files");
  assert.equal(counted(2, "entry", "entries"), "2 entries");
});

test("the first window fits the changes, or runs to now after a single one", () => {
  const now = T + 72 * H;
  const one = lanes([interval("production", T, null, 1)], now);
  const [a0, a1] = initialWindow(one);
  assert.ok(a0 <= T && a1 >= now, "one deployment three days ago: shown up to now");
  const two = lanes([interval("production", T, T + H, 1), interval("production", T + H, null, 2)], now);
  const [b0, b1] = initialWindow(two);
  assert.ok(b0 <= T && b1 >= T + H && b1 - b0 < 2 * H, "two changes an hour apart fill the chart");
});

test("an unknown stretch from the beginning of time covers everything before its end", () => {
  const unknown = { since: null, until: formatInstant(T + 2 * H), reason: "imported from MLflow, which keeps no history", earliest_at: null };
  const gap = { ...interval("prod", T, T + 2 * H, 1), from: null, versions: [], kind: "observe", unknown };
  const data = lanes([gap, interval("prod", T + 2 * H, null, 1, { kind: "observe" })], T + 5 * H);
  assert.equal(data.start, T + 2 * H - 24 * H, "no bound: the extent shows a day of it");
  const bounded = lanes([{ ...gap, unknown: { ...unknown, earliest_at: formatInstant(T - 5 * H) } }], T + 5 * H);
  assert.equal(bounded.start, T - 5 * H, "the extent shows it from its bound");
  const prod = data.byEnv.get("prod");
  assert.equal(prod[0].start, -Infinity);
  assert.equal(liveAt(prod, T - 1000 * H).unknown, unknown);
  assert.equal(liveAt(prod, T + 2 * H).unknown, null);
  const bars = layout(prod, T, T + 4 * H, 400);
  assert.ok(Math.abs(bars[0].x0) < 1e-9 && Math.abs(bars[0].x1 - 200) < 1e-9 && bars[0].main.unknown);
  assert.equal(describeUnknown(unknown), `unknown before ${formatInstant(T + 2 * H)} (imported from MLflow, which keeps no history)`);
  assert.equal(describeUnknown({ ...unknown, since: formatInstant(T), reason: "" }),
    `unknown between ${formatInstant(T)} and ${formatInstant(T + 2 * H)}`);
  assert.equal(describeServing({ versions: [], unknown }), describeUnknown(unknown));
  assert.equal(describeServing({ versions: [{ version: 2, weight: 1 }], unknown: null }), "v2");
});
