// "Find my rate" (issue 10): the resonance-frequency finder in the Breathe panel. The server
// runs the protocol (/api/breathing/resonance/runs): five steps at 6.5, 6, 5.5, 5 and 4.5
// breaths/min, each a breathing session; this page paces each step with the panel's pacer
// and asks for the next when the step's time is up. The server measures each step from its
// beats and chooses the rate (signals.resonance); the page shows the figures and keeps the
// rate with "Use this rate" (/api/breathing/resonance/rate), the panel's default pace.
// A page that closes mid-run leaves nothing broken: the server stops an overdue run.

import { request } from "./api.js";
import { breathePace, breatheRateSet } from "./breathe.js";
import { toMs } from "./time.js";

const $ = (id) => document.getElementById(id);
const STEPS = 5;
const STEP_S_DEFAULT = 120;
const RETRY_MS = 1000;  // the server says "runs n s more" when a timer runs fast

const run = { id: null, stepS: STEP_S_DEFAULT, timer: 0, clock: 0, due: 0, chosen: null };

function fmtRate(r) { return `${Number.isInteger(r) ? r : r.toFixed(1)}/min`; }
function mmss(s) { const t = Math.max(0, Math.ceil(s)); return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`; }

/** The step length asked for: 2 min, or `?finder_step_s=` (≥ 20 s: a quick try, or a test). */
export function finderStepSeconds(search = location.search) {
  const q = Number(new URLSearchParams(search).get("finder_step_s"));
  return Number.isFinite(q) && q >= 20 ? q : STEP_S_DEFAULT;
}

function show(part) {
  for (const p of ["intro", "run", "result"]) $(`finder-${p}`).hidden = p !== part;
  $("finder-open").hidden = part === "intro" || part === "run";
}

function error(text) { $("finder-error").textContent = text; $("finder-error").hidden = !text; }

/** The person's rate: the note, "Back to 6/min" when it is not the default, and the pace
 * select's default (unless a session runs). */
export async function finderRateLoad() {
  let r;
  try { r = await request("/api/breathing/resonance/rate"); } catch (_) { return; }
  const kept = r.set_at != null;
  $("finder-rate-note").textContent = kept
    ? `Your pace: ${fmtRate(r.rate_per_min)}${r.run_id ? ", found with “Find my rate”" : ""}.`
    : "Your pace: 6/min, the usual one. “Find my rate” finds the pace at which your heart swings most.";
  $("finder-rate-note").dataset.rate = String(r.rate_per_min);
  $("finder-reset").hidden = !kept;
  breatheRateSet(r.rate_per_min);
}

function clear() { clearTimeout(run.timer); clearInterval(run.clock); run.timer = 0; run.clock = 0; }

function countdown() { $("finder-left").textContent = mmss((run.due - performance.now()) / 1000); }

/** Pace the run's current step; `elapsedMs`: how much of it has already passed. */
function stepPace(r, elapsedMs) {
  const step = r.steps[r.steps.length - 1];
  breathePace({ id: step.session_id, start: step.start, end: null, rate_per_min: step.rate_per_min,
    inhale_ratio: r.inhale_ratio }, true);
  show("run");
  $("finder-step").textContent = `Step ${step.k} of ${STEPS}: ${fmtRate(step.rate_per_min)}`;
  $("finder").dataset.step = String(step.k);
  clear();
  const left = Math.max(0, r.step_s * 1000 - elapsedMs);
  run.due = performance.now() + left;  // the phone's own clock: no skew against the server's
  countdown();
  run.clock = setInterval(countdown, 1000);
  run.timer = setTimeout(stepNext, left);
}

function onRun(r, elapsedMs = 0) {
  run.id = r.id;
  run.stepS = r.step_s;
  $("finder").dataset.status = r.status;
  if (r.status === "running") { stepPace(r, elapsedMs); return; }
  clear();
  breathePace(null, false);
  if (r.status === "done") resultShow(r);
  else { show(null); error("The finder was stopped before the last step; no rate was chosen."); }
}

async function begin() {
  error("");
  let r;
  try {
    r = await request("/api/breathing/resonance/runs", {
      method: "POST", body: { step_s: run.stepS, inhale_ratio: Number($("breathe-ratio").value) || 1 },
    });
  } catch (err) { error(err.message); return; }
  onRun(r);
  $("finder-stop").focus();
}

async function stepNext() {
  let r;
  try { r = await request(`/api/breathing/resonance/runs/${run.id}/next`, { method: "POST" }); } catch (err) {
    if (err.status === 409 && / runs \d+ s more/.test(err.message)) { run.timer = setTimeout(stepNext, RETRY_MS); return; }
    clear(); breathePace(null, false); show(null);
    // 409 otherwise: the run was stopped meanwhile (the page was away too long, or a session began)
    error(err.status === 409 ? "The finder stopped before the last step (the page was away, or another session began). Begin again when you have the time." : err.message);
    return;
  }
  onRun(r);
  if (r.status === "done") $("finder-choice").focus();
}

async function stop() {
  clear();
  try { onRun(await request(`/api/breathing/resonance/runs/${run.id}/stop`, { method: "POST" })); }
  catch (err) { breathePace(null, false); show(null); error(err.message); }
  $("finder-open").focus();
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
}

/** The finished run: each step's figures, and the rate chosen (or why none). */
export function resultShow(r) {
  const body = $("finder-rows");
  body.replaceChildren();
  const best = r.chosen_per_min;
  for (const s of r.steps) {
    const tr = document.createElement("tr");
    tr.dataset.rate = String(s.rate_per_min);
    if (best != null && s.rate_per_min === best) tr.className = "chosen";
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = fmtRate(s.rate_per_min) + (best != null && s.rate_per_min === best ? " ✓" : "");
    tr.append(th);
    const f = (v, fn) => (v == null ? "—" : fn(v));
    cell(tr, f(s.rsa_bpm, (v) => v.toFixed(1)));
    cell(tr, f(s.peak_power_bpm2, (v) => v.toFixed(0)));
    cell(tr, f(s.coherence, (v) => `${Math.round(100 * v)}`));
    cell(tr, s.usable ? f(s.breath_rate_per_min, (v) => v.toFixed(1)) : `not used: ${s.reason || "—"}`, s.usable ? "" : "unused");
    body.append(tr);
  }
  run.chosen = best;
  $("finder-choice").textContent = best != null
    ? `Your rate: ${fmtRate(best)}. ${r.reason.charAt(0).toUpperCase()}${r.reason.slice(1)}.`
    : `${r.reason.charAt(0).toUpperCase()}${r.reason.slice(1)}: no rate chosen. Try again when you can breathe with the circle for the whole ${Math.round(STEPS * r.step_s / 60)} minutes.`;
  $("finder-use").hidden = best == null;
  $("finder-use").textContent = best != null ? `Use ${fmtRate(best)}` : "Use this rate";
  show("result");
}

async function use() {
  try {
    await request("/api/breathing/resonance/rate", { method: "PUT", body: { rate_per_min: run.chosen, run_id: run.id } });
  } catch (err) { error(err.message); return; }
  await finderRateLoad();
  show(null);
  $("finder-rate-note").focus();
}

async function reset() {
  try { await request("/api/breathing/resonance/rate", { method: "DELETE" }); } catch (err) { error(err.message); return; }
  await finderRateLoad();
  $("finder-rate-note").focus();
}

/** On opening the panel: a run still going (this page reloaded) is paced on; else the
 * person's rate becomes the pace's default. Returns whether a run is being paced. */
export async function finderResume() {
  let runs;
  try { runs = (await request("/api/breathing/resonance/runs?limit=1")).runs; } catch (_) { runs = []; }
  const r = runs[0];
  if (r && r.status === "running") {
    if (run.id !== r.id || !run.timer) onRun(r, Date.now() - toMs(r.steps[r.steps.length - 1].start));
    return true;
  }
  return false;
}

/** Wire the finder's controls (once). */
export function finderInit() {
  run.stepS = finderStepSeconds();
  $("finder-minutes").textContent = `about ${Math.round(STEPS * run.stepS / 60)} minutes`;
  $("finder-step-len").textContent = run.stepS % 60 ? `${run.stepS} s` : `${run.stepS / 60} minutes`;
  $("finder-open").onclick = () => { error(""); show("intro"); $("finder-begin").focus(); };
  $("finder-cancel").onclick = () => { show(null); $("finder-open").focus(); };
  $("finder-begin").onclick = begin;
  $("finder-stop").onclick = stop;
  $("finder-use").onclick = use;
  $("finder-reset").onclick = reset;
  show(null);
}
