// The live card (state, heart rate, activation, the strap's link, a short trend) and the
// SSE stream that keeps it and the day current.

import { request, query } from "./api.js";
import { sparkDraw, sparkLayout } from "./spark.js";
import { durationText, isoLocal, toMs } from "./time.js";
import { scoreText } from "./scale.js";
import { motionCapability } from "./motion.js";

const $ = (id) => document.getElementById(id);
const TREND_WINDOW_MS = 5 * 60e3;
const STALE_BEAT_S = 10;
// a tick reads a 60 s window: the first minute of beats gives no reading yet, and the first
// valid tick reaches the page some seconds later (seen in `attune demo`: ~66 s)
const WARMUP_S = 90;
const TICK_MS = 5000;

let status = null;     // the last /api/status, patched by live events
let lastBeatMs = null;
let runStartMs = null; // first beat of the current run of beats this page has seen
let trend = [];        // [Unix ms, bpm]: the ticks' heart rate (one series: 60-s average every 5 s)

/** The live card's headline: one message that agrees with the strap's link line.
 * `mode` ("live" | "stored"), `connection`, `contact`, `beatAgeS` (null: no beat yet),
 * `runS` (how long beats have been arriving without a gap; null: unknown), the latest
 * tick's `state` and `stateWords` (null: no fresh tick; "unknown": the tick was not
 * valid), and `calibration` ({done, progress}). Returns {words, state}. */
export function liveHeadline({ mode, connection, contact = null, beatAgeS = null, runS = null, state = null,
  stateWords = null, calibration = null }) {
  const valid = state != null && state !== "unknown";
  if (mode === "stored") return valid ? { words: stateWords || state, state } : { words: "stored data: not live", state: "" };
  if (connection === "reconnecting") return { words: "looking for the strap", state: "" };
  if (connection !== "connected") return { words: "strap not connected", state: "" };
  if (beatAgeS == null || beatAgeS >= STALE_BEAT_S) return { words: "waiting for beats", state: "" };
  if (!valid) {
    if (contact === false) return { words: "no skin contact: moisten the strap", state: "" };
    if (runS == null || runS < WARMUP_S) return { words: "warming up: first minute of beats", state: "warming" };
    return { words: "beats unclear: check the strap's fit", state: "" };
  }
  if (state === "calibrating") {
    const pct = Math.floor(100 * Math.min(1, Math.max(0, (calibration && calibration.progress) || 0)));
    return { words: `calibrating: ${pct} % of your baseline`, state: "calibrating" };
  }
  return { words: stateWords || state, state };
}

function beatAgeS() { return lastBeatMs ? (Date.now() - lastBeatMs) / 1000 : null; }

function headlineRender() {
  const s = status;
  const age = beatAgeS();
  const h = liveHeadline({
    mode: s.mode, connection: s.connection, contact: s.contact, beatAgeS: age,
    runS: runStartMs != null && age != null && age < STALE_BEAT_S ? (lastBeatMs - runStartMs) / 1000 : null,
    state: s.state, stateWords: s.state_words, calibration: s.calibration,
  });
  const words = $("state-words");
  words.textContent = h.words;
  words.dataset.state = h.state;
}

/** The trend's points ([Unix ms, bpm]), for tests. */
export function trendPoints() { return trend.map((p) => [...p]); }

/** Ask the server how things are now and show it. */
export async function statusRefresh() {
  try { status = await request("/api/status"); statusRender(); } catch (_) { /* shown by the link text */ }
}

function statusRender() {
  const s = status;
  if (!s) return;
  $("hr").textContent = s.hr_bpm != null ? Math.round(s.hr_bpm) : "—";
  $("score").textContent = scoreText(s.score);
  const cal = s.calibration;
  $("calibration").hidden = !cal || cal.done;
  if (cal && !cal.done) {
    $("calibration-text").textContent = cal.message || "Getting to know your baseline…";
    $("calibration-bar").style.width = `${Math.round(100 * (cal.progress || 0))}%`;
  }
  if (s.last_beat_at) lastBeatMs = Math.max(lastBeatMs || 0, toMs(s.last_beat_at));
  linkRender();
}

/** The strap's link, battery, contact and beat age (also called every second). */
export function linkRender() {
  const s = status;
  if (!s) return;
  const parts = [];
  const ageS = beatAgeS();
  if (ageS == null || ageS >= STALE_BEAT_S) runStartMs = null;
  let dot = "";
  if (s.mode === "stored") { parts.push("stored data"); }
  else if (s.connection === "connected" && ageS != null && ageS < STALE_BEAT_S) { parts.push("strap connected"); dot = "on"; }
  else if (s.connection === "connected") { parts.push("strap connected, waiting for beats"); dot = "wait"; }
  else if (s.connection === "reconnecting") { parts.push("looking for the strap"); dot = "wait"; }
  else { parts.push("strap not connected"); }
  if (s.battery_pct != null) parts.push(`battery ${s.battery_pct}%`);
  const motion = motionCapability(s);  // issue 8: whether the strap gives motion (when the status says)
  if (motion != null) parts.push(`motion ${motion ? "yes" : "no"}`);
  if (s.contact === false) parts.push("no skin contact");
  $("link-text").textContent = parts.join(" · ");
  $("link-dot").className = `dot ${dot}`;
  // the recorder cannot store (disk full …): say so, whatever the strap is doing
  const alert = $("storage-alert");
  alert.hidden = s.recording !== false;
  if (s.recording === false) alert.textContent = `Not recording: ${s.recording_error || "the database cannot be written"} — retrying; new beats are kept in memory meanwhile.`;
  $("beat-age").textContent = ageS == null ? "" : ageS < 3 ? "" : `last beat ${durationText(ageS)} ago`;
  headlineRender();
}

/** Redraw the trend of the last minutes on `canvas` (sized by the caller). */
export function trendRender(canvas, ctx, color) {
  const now = Date.now();
  trend = trend.filter(([t]) => t > now - TREND_WINDOW_MS);
  const L = sparkLayout(trend, canvas.width, canvas.height, window.devicePixelRatio || 1, now - TREND_WINDOW_MS, now);
  sparkDraw(ctx, L, trend, { color, timeLabels: [[now - TREND_WINDOW_MS, "−5 min"], [now, "now"]], gapMs: 3 * TICK_MS });
}

/** Fill the trend from the stored ticks of the last minutes (5-s buckets: one tick
 * each), before live ticks arrive: the same series as the live one, so no seam. */
export async function trendSeed() {
  const now = new Date();
  try {
    const tl = await request(`/api/timeline?${query({ from: isoLocal(new Date(now - TREND_WINDOW_MS)), to: isoLocal(now), max_points: TREND_WINDOW_MS / TICK_MS })}`);
    const start = toMs(tl.first_at), step = tl.bucket_s * 1000;
    const live = trend.length ? trend[0][0] : Infinity;
    trend = tl.hr_bpm.map((v, i) => [start + (i + (step === TICK_MS ? 0 : 0.5)) * step, v]).filter(([t, v]) => v != null && t < live).concat(trend);
  } catch (_) { /* the trend fills from live ticks */ }
}

/** Listen to /api/live. `on` gets what concerns the rest of the page: `tick(data)`,
 * `episode(data)`, `tag(data)`, `reset()`, `beats(data)` (after the card is updated) and
 * `breathing(data)` ({event: "started"|"ended", id}). */
export function liveConnect(on) {
  const es = new EventSource("/api/live");
  const listen = (kind, fn) => es.addEventListener(kind, (ev) => fn(ev.data ? JSON.parse(ev.data) : {}));
  listen("beats", (d) => {
    for (const b of d.beats) {
      const t = toMs(b.at);
      if (runStartMs == null || (lastBeatMs != null && t - lastBeatMs > STALE_BEAT_S * 1000)) runStartMs = t;
      lastBeatMs = Math.max(lastBeatMs || 0, t);
    }
    if (status && d.hr_bpm != null) { status.hr_bpm = d.hr_bpm; $("hr").textContent = Math.round(d.hr_bpm); }
    if (status && status.connection !== "connected") status.connection = "connected";
    linkRender();
    on.beats(d);
  });
  listen("tick", (d) => {
    const t = toMs(d.at);
    if (t != null && d.hr_bpm != null && (!trend.length || t > trend[trend.length - 1][0])) trend.push([t, d.hr_bpm]);
    if (status) {
      Object.assign(status, { score: d.score, state: d.state, state_words: d.state_words || status.state_words });
      if (d.calibration) status.calibration = d.calibration;
      statusRender();
    }
    on.tick(d);
  });
  listen("state", (d) => {
    if (!status) return;
    // the tick's words know the motion ("walking — not counted"): keep them for its state
    const words = status.state === d.state && status.state_words ? status.state_words : d.state_words;
    Object.assign(status, { state: d.state, state_words: words });
    statusRender();
  });
  listen("episode", on.episode);
  listen("tag", on.tag);
  if (on.breathing) listen("breathing", on.breathing);  // a breathing session started or ended (routes_breathing)
  listen("link", () => statusRefresh());
  listen("reset", () => { statusRefresh(); on.reset(); });
  es.onopen = () => { document.body.dataset.live = "open"; statusRefresh(); };
  es.onerror = () => { document.body.dataset.live = "reconnecting"; };
}
