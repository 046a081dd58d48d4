// The live card (state, heart rate, activation, the strap's link, a short trend) and the
// SSE stream that keeps it and the day current.

import { request, query } from "./api.js";
import { trendDraw } from "./chart.js";
import { durationText, isoLocal, toMs } from "./time.js";
import { scoreText } from "./scale.js";

const $ = (id) => document.getElementById(id);
const TREND_WINDOW_MS = 5 * 60e3;
const STALE_BEAT_S = 10;

let status = null;     // the last /api/status, patched by live events
let lastBeatMs = null;
let trend = [];        // [Unix ms, bpm] of recent beats

/** Ask the server how things are now and show it. */
export async function statusRefresh() {
  try { status = await request("/api/status"); statusRender(); } catch (_) { /* shown by the link text */ }
}

function statusRender() {
  const s = status;
  if (!s) return;
  const words = $("state-words");
  words.textContent = s.state_words ||
    (s.connection === "connected" ? "listening…" : s.connection === "reconnecting" ? "looking for the strap" : "not recording");
  words.dataset.state = s.state || "";
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
  const ageS = lastBeatMs ? (Date.now() - lastBeatMs) / 1000 : null;
  let dot = "";
  if (s.mode === "stored") { parts.push("stored data"); }
  else if (s.connection === "connected" && ageS != null && ageS < STALE_BEAT_S) { parts.push("strap connected"); dot = "on"; }
  else if (s.connection === "connected") { parts.push("strap connected, waiting for beats"); dot = "wait"; }
  else if (s.connection === "reconnecting") { parts.push("looking for the strap"); dot = "wait"; }
  else { parts.push("strap not connected"); }
  if (s.battery_pct != null) parts.push(`battery ${s.battery_pct}%`);
  if (s.contact === false) parts.push("no skin contact");
  $("link-text").textContent = parts.join(" · ");
  $("link-dot").className = `dot ${dot}`;
  // the recorder cannot store (disk full …): say so, whatever the strap is doing
  const alert = $("storage-alert");
  alert.hidden = s.recording !== false;
  if (s.recording === false) alert.textContent = `Not recording: ${s.recording_error || "the database cannot be written"} — retrying; new beats are kept in memory meanwhile.`;
  $("beat-age").textContent = ageS == null ? "" : ageS < 3 ? "" : `last beat ${durationText(ageS)} ago`;
}

/** Redraw the trend of the last minutes on `canvas` (sized by the caller). */
export function trendRender(canvas, ctx, color) {
  const now = Date.now();
  trend = trend.filter(([t]) => t > now - TREND_WINDOW_MS);
  trendDraw(ctx, trend, canvas.width, canvas.height, window.devicePixelRatio || 1, color, now, TREND_WINDOW_MS);
}

/** Fill the trend from the stored last minutes, before live beats arrive. */
export async function trendSeed() {
  const now = new Date();
  try {
    const tl = await request(`/api/timeline?${query({ from: isoLocal(new Date(now - TREND_WINDOW_MS)), to: isoLocal(now), max_points: 120 })}`);
    const start = toMs(tl.first_at), step = tl.bucket_s * 1000;
    trend = tl.hr_bpm.map((v, i) => [start + (i + 0.5) * step, v]).filter(([, v]) => v != null).concat(trend);
  } catch (_) { /* the trend fills from live beats */ }
}

/** Listen to /api/live. `on` gets what concerns the rest of the page: `tick(data)`,
 * `episode(data)`, `tag(data)`, `reset()` and `beats()` (after the card is updated). */
export function liveConnect(on) {
  const es = new EventSource("/api/live");
  const listen = (kind, fn) => es.addEventListener(kind, (ev) => fn(ev.data ? JSON.parse(ev.data) : {}));
  listen("beats", (d) => {
    for (const b of d.beats) {
      const t = toMs(b.at);
      lastBeatMs = Math.max(lastBeatMs || 0, t);
      if (b.rr_ms > 0) trend.push([t, 60000 / b.rr_ms]);
    }
    if (status && d.hr_bpm != null) { status.hr_bpm = d.hr_bpm; $("hr").textContent = Math.round(d.hr_bpm); }
    if (status && status.connection !== "connected") status.connection = "connected";
    linkRender();
    on.beats();
  });
  listen("tick", (d) => {
    if (status) {
      Object.assign(status, { score: d.score, state: d.state, state_words: d.state_words || status.state_words });
      if (d.calibration) status.calibration = d.calibration;
      statusRender();
    }
    on.tick(d);
  });
  listen("state", (d) => {
    if (!status) return;
    Object.assign(status, { state: d.state, state_words: d.state_words });
    statusRender();
  });
  listen("episode", on.episode);
  listen("tag", on.tag);
  listen("link", () => statusRefresh());
  listen("reset", () => { statusRefresh(); on.reset(); });
  es.onopen = () => { document.body.dataset.live = "open"; statusRefresh(); };
  es.onerror = () => { document.body.dataset.live = "reconnecting"; };
}
