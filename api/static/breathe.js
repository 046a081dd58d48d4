// Paced breathing (issue 10): a calm pacer at a chosen rate (default 6/min, inhale:exhale
// adjustable), the heart rate drawn beat by beat under it from the live beats, and every 5 s
// the server's feedback from the ticks (RSA amplitude, coherence, the breathing rate the
// heart shows). A session is stored by /api/breathing/sessions; sessions are marked on the
// day's chart. The feedback is computed on the server (signals.breathing), never here.

import { request, query } from "./api.js";
import { finderInit, finderRateLoad, finderResume } from "./finder.js";
import { sparkDraw, sparkLayout } from "./spark.js";
import { hhmm, toMs } from "./time.js";

const $ = (id) => document.getElementById(id);
const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const TRACE_MS = 60e3;        // the beat-by-beat trace shows the last minute
const OFF_BY_PER_MIN = 1.0;   // the heart's rate this far from the pacer's: a gentle word
const SCALE_MIN = 0.45;       // the pacer's size breathed out, as a share of breathed in

const state = {
  session: null,        // the running session (API object) or null
  episode: null,        // the episode a session would be started from
  beats: [],            // [Unix ms, bpm] of the live beats, the last minute
  span: null,           // [fromMs, toMs] of the day whose marks are shown
  frame: 0,             // requestAnimationFrame id of the pacer
  phase: "",            // "in" | "out": the pacer's last phase, for vibration
  timer: 0,
  finder: false,        // the session is a step of "Find my rate" (finder.js paces it)
};

/** Inhale share of one breath for an inhale/exhale ratio (1: even; 0.67: 2 in to 3 out). */
export function inhaleShare(ratio) { return ratio / (1 + ratio); }

/** The pacer at `tMs` into a session at `ratePerMin` and inhale/exhale `ratio`:
 * `{phase: "in"|"out", size}` with size in [SCALE_MIN, 1], eased so it moves calmly. */
export function pacerAt(tMs, ratePerMin, ratio) {
  const cycle = 60e3 / ratePerMin, inMs = cycle * inhaleShare(ratio);
  const t = ((tMs % cycle) + cycle) % cycle;
  const ease = (x) => (1 - Math.cos(Math.PI * x)) / 2;
  const grow = t < inMs ? ease(t / inMs) : 1 - ease((t - inMs) / (cycle - inMs));
  return { phase: t < inMs ? "in" : "out", size: SCALE_MIN + (1 - SCALE_MIN) * grow };
}

/** The gentle word when the heart's breathing rate differs from the pacer's by more than
 * ~1/min; "" when they agree or the heart's rate is not known yet. */
export function rateAdvice(heartPerMin, pacerPerMin) {
  if (heartPerMin == null || pacerPerMin == null) return "";
  const d = heartPerMin - pacerPerMin;
  if (Math.abs(d) <= OFF_BY_PER_MIN) return "";
  return `Your heart shows about ${heartPerMin.toFixed(1)} breaths a minute; the circle is at ${fmtRate(pacerPerMin)}. ` +
    (d > 0 ? "Let each breath be a little longer, with the circle." : "No need to hold on: breathe with the circle.");
}

function fmtRate(r) { return `${Number.isInteger(r) ? r : r.toFixed(1)}/min`; }
function rate() { return Number($("breathe-rate").value) || 6; }
function ratio() { return Number($("breathe-ratio").value) || 1; }

// -- the panel --------------------------------------------------------------------------------
/** Open the breathing panel; with `episode`, a session started here is linked to it. A
 * session already running (this page, or another) is picked up. */
export async function breatheOpen({ episode = null, start = false } = {}) {
  state.episode = episode;
  $("breathe").hidden = false;
  $("breathe-backdrop").hidden = false;
  $("breathe-saved").hidden = true;
  $("breathe-error").hidden = true;
  $("breathe-from").hidden = !episode;
  if (episode) $("breathe-from").textContent = `For the moment of activation ${episode.open ? "since" : "at"} ${hhmm(toMs(episode.start))}.`;
  // "Find my rate" still going (the page reloaded) is paced on (asked first: the server stops a
  // run whose page has gone, and ends its step's session); else the person's rate is the default pace
  const finding = await finderResume();
  if (!state.session && !finding) {
    try {
      const running = (await request("/api/breathing/sessions")).sessions.find((s) => s.end == null);
      if (running) state.session = running;
    } catch (_) { /* start anew */ }
  }
  if (!finding) await finderRateLoad();
  if (!state.session && start) await sessionStart();
  render();
  traceDraw();
  state.timer = state.timer || setInterval(traceDraw, 250);
}

function breatheClose() {
  $("breathe").hidden = true;
  $("breathe-backdrop").hidden = true;
  if (!state.session) { cancelAnimationFrame(state.frame); state.frame = 0; clearInterval(state.timer); state.timer = 0; }
}

async function sessionStart() {
  $("breathe-error").hidden = true;
  try {
    state.session = await request("/api/breathing/sessions", {
      method: "POST",
      body: { rate_per_min: rate(), inhale_ratio: ratio(), ...(state.episode ? { episode_id: state.episode.id } : {}) },
    });
  } catch (err) { showError(err.message); return; }
  feedbackRender({});
  render();
}

async function sessionEnd() {
  const s = state.session;
  if (!s) return;
  let ended;
  try { ended = await request(`/api/breathing/sessions/${s.id}/end`, { method: "POST" }); }
  catch (err) { showError(err.message); return; }
  state.session = null;
  const mins = (toMs(ended.end) - toMs(ended.start)) / 60e3;
  const parts = [`Saved: ${mins < 1 ? "under a minute" : `${Math.round(mins)} min`} at ${fmtRate(ended.rate_per_min)}`];
  if (ended.rsa_bpm != null) parts.push(`heart swing ${ended.rsa_bpm.toFixed(1)} bpm`);
  if (ended.coherence != null) parts.push(`coherence ${Math.round(100 * ended.coherence)} %`);
  $("breathe-saved").textContent = parts.join(" · ") + ".";
  $("breathe-saved").hidden = false;
  render();
  marksLoad();
}

function showError(text) { $("breathe-error").textContent = text; $("breathe-error").hidden = false; }

function render() {
  const running = !!state.session;
  document.body.dataset.breathing = running ? "running" : "";
  // the header's button says so too (filled by CSS), for a session begun on another page as well
  if (running) $("breathe-open").setAttribute("aria-label", "Breathe: a session is running");
  else $("breathe-open").removeAttribute("aria-label");
  $("breathe-start").hidden = running;
  $("breathe-end").hidden = !running || state.finder;  // a finder step ends with the finder
  $("breathe-rate").disabled = running;
  $("breathe-ratio").disabled = running;
  $("pacer").dataset.running = running ? "yes" : "no";
  if (running) {
    $("breathe-rate").value = String(state.session.rate_per_min);
    if (!state.frame) state.frame = requestAnimationFrame(pacerStep);
  } else {
    cancelAnimationFrame(state.frame); state.frame = 0;
    $("pacer").style.transform = `scale(${SCALE_MIN})`;
    $("pacer-word").textContent = "ready when you are";
    $("breathe-advice").hidden = true;
  }
}

function pacerStep() {
  const s = state.session;
  if (!s) { state.frame = 0; return; }
  const p = pacerAt(Date.now() - toMs(s.start), s.rate_per_min, s.inhale_ratio);
  const el = $("pacer");
  el.style.transform = `scale(${p.size.toFixed(4)})`;
  el.dataset.phase = p.phase;
  if (p.phase !== state.phase) {
    state.phase = p.phase;
    $("pacer-word").textContent = p.phase === "in" ? "breathe in" : "breathe out";
    // a short buzz at each turn, where the phone allows it (not on iOS; needs a tap first)
    if ($("breathe-vibrate").checked && navigator.vibrate) { try { navigator.vibrate(p.phase === "in" ? 40 : [20, 60, 20]); } catch (_) { /* not allowed */ } }
  }
  state.frame = requestAnimationFrame(pacerStep);
}

// -- live heart rate and feedback ---------------------------------------------------------------
/** Live beats (the `beats` SSE payload): each beat's heart rate, 60000 / RR. */
export function breatheOnBeats(d) {
  if (!d || !d.beats) return;
  const last = state.beats.length ? state.beats[state.beats.length - 1][0] : -Infinity;
  for (const b of d.beats) {
    const t = toMs(b.at);
    if (t > last && b.rr_ms > 0) state.beats.push([t, 60000 / b.rr_ms]);
  }
  const from = Date.now() - TRACE_MS - 5000;
  if (state.beats.length && state.beats[0][0] < from) state.beats = state.beats.filter(([t]) => t >= from);
  if (!$("breathe").hidden) traceDraw();
}

/** The beat-by-beat trace's points, for tests: [Unix ms, bpm]. */
export function breatheTrace() { return state.beats.map((p) => [...p]); }

function traceDraw() {
  const canvas = $("breathe-trace");
  if ($("breathe").hidden || !canvas.clientWidth) return;
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const now = Date.now();
  const L = sparkLayout(state.beats, w, h, dpr, now - TRACE_MS, now, 10);
  sparkDraw(canvas.getContext("2d"), L, state.beats, { color, timeLabels: [[now - TRACE_MS, "−1 min"], [now, "now"]], gapMs: 5000 });
  canvas.dataset.beats = String(state.beats.filter(([t]) => t >= now - TRACE_MS).length);
  canvas.dataset.last = state.beats.length ? String(state.beats[state.beats.length - 1][0]) : "";
}

/** A live tick (every 5 s): the server's breathing feedback. */
export function breatheOnTick(d) {
  if (!d) return;
  feedbackRender(d);
}

function feedbackRender(d) {
  const fmt = (v, f) => (v == null ? "—" : f(v));
  $("fb-rsa").textContent = fmt(d.rsa_bpm, (v) => `${v.toFixed(1)} bpm`);
  $("fb-coherence").textContent = fmt(d.coherence, (v) => `${Math.round(100 * v)} %`);
  const pacer = state.session ? state.session.rate_per_min : rate();
  $("fb-rate").textContent = `${fmt(d.breath_rate_per_min, (v) => `${v.toFixed(1)}/min`)} · circle ${fmtRate(pacer)}`;
  $("breathe-feedback").dataset.at = d.at || "";
  const advice = state.session ? rateAdvice(d.breath_rate_per_min, pacer) : "";
  $("breathe-advice").textContent = advice;
  $("breathe-advice").hidden = !advice;
}

// -- the episode's sheet and the day's chart ------------------------------------------------------------
/** What the sheet offers for `item`: "Breathe now" for an episode still going or not yet
 * looked back on (no name), "try it next time" for one that has been named. */
export function breatheSheetOffer(item) {
  const box = $("sheet-breathe");
  const e = item && item.kind === "episode" ? item.episode : null;
  box.hidden = !e;
  if (!e) return;
  const now = e.open || !e.tag;
  $("sheet-breathe-now").hidden = !now;
  $("sheet-breathe-next").hidden = now;
  $("sheet-breathe-now").onclick = () => {
    $("sheet-cancel").click();  // the sheet closes; the pacer starts right away
    breatheOpen({ episode: e, start: true });
  };
}

/** Load and draw the sessions of the day shown ([fromMs, toMs)) as marks under the chart. */
export async function breatheMarksLoad(fromMs, toMs_) {
  state.span = [fromMs, toMs_];
  await marksLoad();
}

async function marksLoad() {
  if (!state.span) return;
  const [a, b] = state.span;
  let found;
  try {
    found = await request(`/api/breathing/sessions?${query({ from: new Date(a).toISOString(), to: new Date(b).toISOString() })}`);
  } catch (_) { return; }
  if (!state.span || state.span[0] !== a) return;  // another day meanwhile
  const layer = $("breath-marks");
  layer.replaceChildren();
  for (const s of found.sessions) {
    const s0 = Math.max(a, toMs(s.start)), s1 = Math.min(b, s.end ? toMs(s.end) : Date.now());
    const el = document.createElement("span");
    el.className = "breath-mark";
    el.dataset.sessionId = s.id;
    el.style.left = `${(100 * (s0 - a) / (b - a)).toFixed(3)}%`;
    el.style.width = `${(100 * Math.max(0, s1 - s0) / (b - a)).toFixed(3)}%`;
    el.title = `${hhmm(toMs(s.start))}${s.end ? `–${hhmm(toMs(s.end))}` : " · running"}: breathing at ${fmtRate(s.rate_per_min)}` +
      (s.rsa_bpm != null ? `, heart swing ${s.rsa_bpm.toFixed(1)} bpm` : "");
    layer.append(el);
  }
  layer.setAttribute("aria-label", found.sessions.length ? `${found.sessions.length} breathing session${found.sessions.length === 1 ? "" : "s"}` : "no breathing sessions");
}

/** Pace `session` (an API session, or null to stop); `finder`: it is a step of "Find my
 * rate", whose own controls end it (finder.js). */
export function breathePace(session, finder = false) {
  state.session = session;
  state.finder = !!session && finder;
  if (session) feedbackRender({});
  render();
  if (!session) marksLoad();
}

/** The pace select's default: the person's rate (added to the choices if it is not one),
 * unless a session runs. */
export function breatheRateSet(ratePerMin) {
  if (state.session || ratePerMin == null) return;
  const sel = $("breathe-rate");
  const value = String(ratePerMin);
  if (![...sel.options].some((o) => o.value === value)) sel.add(new Option(`${value} / min`, value));
  sel.value = value;
}

/** The `breathing` live event ({event: "started"|"ended", id}): a session began or ended, on
 * this page or another one. The running session is picked up (header, panel) or let go, and
 * the day's marks are drawn again. */
export async function breatheOnEvent(d) {
  if (!d || d.id == null) return;
  // a step of "Find my rate" is paced by the finder (finder.js), on the page that runs it;
  // another page only marks it, so its End button cannot cut a step short
  if (d.resonance_run != null || state.finder) { await marksLoad(); return; }
  if (d.event === "started" && (!state.session || state.session.id !== d.id)) {
    try {
      const running = (await request("/api/breathing/sessions")).sessions.find((s) => s.id === d.id && s.end == null);
      if (running) { state.session = running; render(); }
    } catch (_) { /* the next event or a reload tells */ }
  } else if (d.event === "ended" && state.session && state.session.id === d.id) {
    state.session = null;
    render();
  }
  await marksLoad();
}

/** Wire the panel's controls (once). */
export function breatheInit() {
  $("breathe-open").onclick = () => breatheOpen();
  // every sheet opened (an episode, a moment, the next unnamed one) says what it offers
  document.addEventListener("attune:sheet-open", (ev) => breatheSheetOffer(ev.detail));
  $("breathe-close").onclick = breatheClose;
  $("breathe-backdrop").onclick = breatheClose;
  $("breathe-start").onclick = sessionStart;
  $("breathe-end").onclick = sessionEnd;
  $("breathe-vibrate").disabled = !navigator.vibrate;
  if (!navigator.vibrate) $("breathe-vibrate").checked = false;
  feedbackRender({});
  render();
  finderInit();
}
