// Pure functions of the timeline chart: parsing instants, lanes, pixel layout, what was live.
// No DOM here, so they run (and are tested) under Node as well as in the browser.

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?$/;

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Milliseconds since the epoch of an ISO-8601 instant, or null. Without a zone, UTC. */
export function parseInstant(text) {
  const str = String(text ?? "").trim();
  if (API_TIME.test(str)) {
    const fast = Date.parse(str); // the API's own form: the browser's parser is much faster
    if (!Number.isNaN(fast)) return fast;
  }
  const m = ISO.exec(str);
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m;
  const ms = Number((frac + "000").slice(0, 3));
  let t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, ms);
  const check = new Date(t);
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d
      || +h > 23 || +mi > 59 || +s > 59) return null;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60000;
  }
  return t;
}

/** An instant as the API writes it: `2025-01-02T03:04:05Z` (milliseconds only when set). */
export function formatInstant(t) {
  const text = new Date(t).toISOString();
  return text.endsWith(".000Z") ? text.slice(0, -5) + "Z" : text;
}

/**
 * The timeline endpoint's intervals grouped by environment, each lane in time order with
 * numeric `start`/`end` (an open interval ends at `now`), the overall extent, and the last
 * change (the latest start or closed end), where the history's detail stops.
 */
export function lanes(intervals, now) {
  const byEnv = new Map();
  let start = Infinity;
  let end = -Infinity;
  let lastChange = -Infinity;
  for (const i of intervals) {
    // An unknown stretch from the beginning of time has no `from`: it starts at -Infinity,
    // and the extent shows it from its bound (the earliest the versions seen at its end could
    // have started serving), or for a day when it has none.
    const s = i.from === null || i.from === undefined ? -Infinity : parseInstant(i.from);
    const open = i.to === null || i.to === undefined;
    const e = open ? Math.max(now, s) : parseInstant(i.to);
    const item = {
      environment: i.environment, versions: i.versions, from: i.from, to: i.to,
      event_id: i.event_id, kind: i.kind, backfill: i.backfill, actor: i.actor, actor_auth: i.actor_auth ?? null,
      approved_by: i.approved_by, approved_auth: i.approved_auth ?? null, start: s, end: e, open, unknown: i.unknown ?? null,
    };
    if (!byEnv.has(i.environment)) byEnv.set(i.environment, []);
    byEnv.get(i.environment).push(item);
    const bound = i.unknown && i.unknown.earliest_at ? parseInstant(i.unknown.earliest_at) : null;
    const known = s === -Infinity ? Math.min(bound ?? e - 86400000, e - 60000) : s;
    if (known < start) start = known;
    if (e > end) end = e;
    const changed = open ? s : e;
    if (changed > lastChange) lastChange = changed;
  }
  for (const items of byEnv.values()) items.sort((a, b) => a.start - b.start || a.event_id - b.event_id);
  const envs = [...byEnv.keys()].sort();
  if (start === Infinity) { start = now - 86400000; end = now; lastChange = now; }
  if (end <= start) end = start + 60000;
  return { envs, byEnv, start, end, lastChange };
}

/** Index of the first item whose end is after `t` (items in time order, not overlapping). */
export function firstEndingAfter(items, t) {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].end <= t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The item of a lane that covers instant `t` (start <= t < end, or the open one), or null. */
export function liveAt(items, t) {
  const k = firstEndingAfter(items, t);
  if (k < items.length && items[k].start <= t) return items[k];
  const last = items[items.length - 1];
  if (last && last.open && last.start <= t) return last;
  return null;
}

/**
 * Bars of one lane between `t0` and `t1` on `width` pixels. Intervals at least `minPx` wide
 * are bars of their own; narrower ones are merged, per pixel column at most one bar, into a
 * bar with `count` > 1 coloured by the interval that covers most of it. The work is in the
 * number of visible intervals, and the output at most about `width / minPx` bars plus the
 * wide ones, so 10,000 events draw as fast as a few hundred.
 */
export function layout(items, t0, t1, width, minPx = 1) {
  const scale = width / (t1 - t0);
  const bars = [];
  let bucket = null;
  const flush = () => { if (bucket) { bars.push(bucket); bucket = null; } };
  for (let k = firstEndingAfter(items, t0); k < items.length; k++) {
    const item = items[k];
    if (item.start >= t1) break;
    const x0 = (Math.max(item.start, t0) - t0) * scale;
    const x1 = (Math.min(item.end, t1) - t0) * scale;
    const backfill = Boolean(item.backfill);
    const approved = Boolean(item.approved_by);
    if (x1 - x0 >= minPx) {
      flush();
      bars.push({ x0, x1, count: 1, item, backfill, approved, main: item });
      continue;
    }
    if (bucket && (x0 - bucket.x1 > 0.5 || bucket.x1 - bucket.x0 >= minPx)) flush();
    if (!bucket) {
      bucket = { x0, x1, count: 0, item, backfill: false, approved: false, main: item, longest: -1 };
    }
    bucket.x1 = Math.max(bucket.x1, x1);
    bucket.count += 1;
    bucket.backfill ||= backfill;
    bucket.approved ||= approved;
    bucket.last = item;
    if (x1 - x0 > bucket.longest) { bucket.longest = x1 - x0; bucket.main = item; }
  }
  flush();
  return bars;
}

/** About `n` round tick instants between t0 and t1. */
export function ticks(t0, t1, n = 6) {
  const steps = [1e3, 6e4, 3e5, 9e5, 36e5, 216e5, 864e5, 1728e5, 6048e5, 2592e6, 7776e6, 31536e6];
  const raw = (t1 - t0) / Math.max(n, 1);
  const step = steps.find((s) => s >= raw) ?? Math.ceil(raw / 31536e6) * 31536e6;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1 && out.length < 100; t += step) out.push(t);
  return { step, ticks: out };
}

const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d",
  "#db2777", "#4f46e5", "#ca8a04", "#0d9488", "#7c3aed"];

/** A stable colour per version number. */
export function versionColor(version) {
  return PALETTE[(Number(version) - 1) % PALETTE.length] ?? "#6b7280";
}

/** `v3 70% · v4 30%`, or `nothing` for an undeploy. */
export function describeVersions(versions) {
  if (!versions || versions.length === 0) return "nothing";
  return versions.map((a) => (a.weight < 1 ? `v${a.version} ${Math.round(a.weight * 100)}%` : `v${a.version}`)).join(" · ");
}

/**
 * `unknown before T (why)` or `unknown between S and T (why)`: the API's `unknown` object,
 * said as the CLI says it (what served then was not recorded by the source it came from).
 */
export function describeUnknown(unknown) {
  const span = unknown.since ? `between ${unknown.since} and ${unknown.until}` : `before ${unknown.until}`;
  return unknown.reason ? `unknown ${span} (${unknown.reason})` : `unknown ${span}`;
}

/** What served: `describeUnknown` when that is unknown, else `describeVersions`. */
export function describeServing(row) {
  return row && row.unknown ? describeUnknown(row.unknown) : describeVersions(row ? row.versions : []);
}

/** `1 version`, `3 versions`: a count with its noun (`many` for irregular plurals). */
export function counted(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The chart's first window [t0, t1] over `lanes(...)`: the changes fill it and open
 * intervals run on past its right edge; with a single change (nothing to fill it with), from
 * that change to now, so one deployment is not shown as one minute.
 */
export function initialWindow(data) {
  const detail = data.lastChange - data.start;
  if (detail < 60000) {
    const width = Math.max(data.end - data.start, 60000);
    return [data.start - width * 0.01, data.start + width * 1.02];
  }
  return [data.start - detail * 0.01, Math.min(data.lastChange + detail * 0.05, data.end + detail * 0.02)];
}
