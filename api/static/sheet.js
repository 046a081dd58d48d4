// The sheet: an episode's or moment's numbers and its name; marking a moment; your labels.

import { request } from "./api.js";
import { episodeEndMs } from "./day.js";
import { sparkDraw, sparkLayout, spanLabels } from "./spark.js";
import { scoreText } from "./scale.js";
import { episodeMotionWords, isSetAside, MOVING_LABEL, MOVING_TEXT } from "./motion.js";
import { durationText, HOUR_MS, hhmm, isoLocal, isToday, timeInputValue, toMs } from "./time.js";

const $ = (id) => document.getElementById(id);
const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const BUILTIN = ["waiting", "bracing", MOVING_LABEL];
const MOMENT_PAD_MS = 5 * 60e3;   // the sheet's chart: the episode and this much either side
let savedTimer = null;

let labels = [];       // [{id, name, builtin, uses}] from /api/labels
let open = null;       // {kind: "episode", episode} | {kind: "moment", moment?} while shown
let chosen = null;     // the label picked in the sheet
let hooks = { dayShown: () => new Date(), dayModel: () => null, changed: async () => {}, toast: () => {} };
let opener = null;     // {el, key, home}: the control that opened the sheet (focus goes back to it)

/** Wire the sheet's buttons. `dayShown()` is the local midnight shown; `dayModel()` the
 * day.js model of it (for "next unnamed" and the moment's chart); `changed(what)` is
 * awaited after a save: {episode} (the fresh one from the API), {episodeId}, or {lists: true}. */
export function sheetInit(options) {
  hooks = { ...hooks, ...options };
  $("sheet-save").onclick = () => sheetSave(false);
  $("sheet-save-next").onclick = () => sheetSave(true);
  $("sheet-cancel").onclick = sheetClose;
  $("sheet-clear").onclick = sheetClear;
  $("choose-moving").onclick = sheetMoving;
  $("sheet-backdrop").onclick = sheetClose;
  $("sheet-next").onclick = () => { const n = nextUnnamed(); if (n) sheetOpen({ kind: "episode", episode: n }); };
  $("label-other").oninput = () => { if ($("label-other").value.trim()) { chosen = null; choicesRender(); } };
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && open) sheetClose(); });
}

export function sheetIsOpen() { return open !== null; }

/** Whether an episode still waits for a name. */
export function isUnnamed(e) { return e.needs_name ?? !e.tag; }

/** The day's unnamed episode after `current` (by start; wrapping to the earliest), not
 * `current` itself; null when none is left. Pure: `episodes` as in the day model. */
export function unnamedAfter(episodes, current) {
  const rest = episodes.filter((e) => isUnnamed(e) && (!current || e.id !== current.id))
    .sort((a, b) => toMs(a.start) - toMs(b.start));
  if (!current) return rest[0] || null;
  const at = toMs(current.start);
  return rest.find((e) => toMs(e.start) > at) || rest[0] || null;
}

function nextUnnamed() {
  const day = hooks.dayModel();
  return day && open && open.kind === "episode" ? unnamedAfter(day.episodes, open.episode) : null;
}

/** Heart rate of the day model around [fromMs, toMs]: `[[Unix ms, bpm]]` of the buckets
 * whose middle lies within the span widened by `padMs` (at least two buckets) either side,
 * and the span shown. Pure. */
export function momentPoints(day, fromMs, toMs_, padMs = MOMENT_PAD_MS) {
  const pad = Math.max(padMs, 2 * day.bucketMs);
  const a = Math.max(day.fromMs, fromMs - pad), b = Math.min(day.toMs, toMs_ + pad);
  const points = [];
  day.hr_bpm.forEach((v, i) => {
    const t = day.firstMs + (i + 0.5) * day.bucketMs;
    if (v != null && t >= a && t <= b) points.push([t, v]);
  });
  return { points, fromMs: a, toMs: b };
}

// the small chart of the moment: heart rate over the episode (shaded) and a few minutes around
function momentChartRender(startMs, endMs) {
  const canvas = $("sheet-chart"), cap = $("sheet-chart-cap"), day = hooks.dayModel();
  const m = day && startMs != null && endMs != null ? momentPoints(day, startMs, endMs) : null;
  const show = m != null && m.points.length >= 2;
  canvas.hidden = !show; cap.hidden = !show;
  if (!show) return;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * dpr); canvas.height = Math.round(canvas.clientHeight * dpr);
  const L = sparkLayout(m.points, canvas.width, canvas.height, dpr, m.fromMs, m.toMs);
  sparkDraw(canvas.getContext("2d"), L, m.points, { color, timeLabels: spanLabels(m.fromMs, m.toMs),
    shade: [startMs, endMs], gapMs: 3 * day.bucketMs });
  cap.textContent = `Heart rate ${hhmm(m.fromMs)}–${hhmm(m.toMs)} (bpm); the shaded part is the ${
    open && open.kind === "episode" ? "episode" : "moment"}.`;
}

function navRender() {
  const day = hooks.dayModel();
  const episode = open && open.kind === "episode" ? open.episode : null;
  const next = episode ? nextUnnamed() : null;
  const left = day && episode ? day.episodes.filter((e) => isUnnamed(e) && e.id !== episode.id).length : 0;
  $("sheet-nav").hidden = !episode || !next;
  $("sheet-left").textContent = left === 1 ? "1 more episode of this day needs a name" : `${left} more episodes of this day need a name`;
}

export async function labelsLoad() {
  try { labels = (await request("/api/labels")).labels; } catch (_) { labels = []; }
}

/** Show the sheet for an episode, a moment, or (`{kind: "moment"}`) a new moment. */
export function sheetOpen(item) {
  if (!open) {  // "next unnamed" keeps the first opener
    const a = document.activeElement;
    opener = a && a !== document.body ? { el: a, key: a.dataset?.key, home: a.parentElement?.closest("[id]")?.id } : null;
  }
  open = item;
  const numbers = $("sheet-numbers");
  numbers.replaceChildren();
  const add = (label, value) => {
    if (value == null || value === "—") return;
    const div = document.createElement("div");
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = label; dd.textContent = value;
    div.append(dt, dd); numbers.append(div);
  };
  let tag = null, span = [null, null];
  $("moment-times").hidden = true;
  $("sheet-motion").hidden = item.kind !== "episode";
  if (item.kind === "episode") {
    const e = item.episode;
    tag = e.tag;
    $("sheet-title").textContent = "A moment of activation";
    span = [toMs(e.start), episodeEndMs(e)];
    // an open episode is still going: when it began, not how long it "lasted"
    $("sheet-when").textContent = e.open ? `since ${hhmm(toMs(e.start))} · still going` : `${hhmm(toMs(e.start))}–${hhmm(toMs(e.end))}`;
    // issue 8: whether the body was still or moving, or the strap could not tell
    $("sheet-motion").textContent = episodeMotionWords(e.motion) + (isSetAside(e) ? " · set aside, not counted" : "");
    if (!e.open) add("lasted", durationText(e.duration_s));
    add("peak activation", e.peak_score != null ? scoreText(e.peak_score) : null);
    add("heart rate rise", e.delta_hr_bpm != null ? `+${Math.round(e.delta_hr_bpm)} bpm` : null);
    add("settling took", e.recovery_s != null ? durationText(e.recovery_s) : e.open ? "still going" : null);
    add("halfway settled after", e.half_recovery_s != null ? durationText(e.half_recovery_s) : null);
  } else if (item.moment) {
    const m = item.moment;
    tag = m;
    $("sheet-title").textContent = "A moment you marked";
    $("sheet-when").textContent = `${hhmm(toMs(m.start))}–${hhmm(toMs(m.end))}`;
    span = [toMs(m.start), toMs(m.end)];
  } else {
    const day = hooks.dayShown();
    $("sheet-title").textContent = "Mark a moment";
    $("sheet-when").textContent = "When did you feel it?";
    $("moment-times").hidden = false;
    const end = isToday(day) ? new Date() : new Date(day.getTime() + 12 * HOUR_MS);
    $("moment-to").value = timeInputValue(end);
    $("moment-from").value = timeInputValue(new Date(end.getTime() - 15 * 60e3));
  }
  chosen = tag ? tag.label : null;
  // "I was moving": one tap names the episode and sets it aside (episodes only)
  $("moving-answer").hidden = item.kind !== "episode";
  $("choose-moving").setAttribute("aria-pressed", String(item.kind === "episode" && isSetAside(item.episode)));
  $("label-other").value = tag && !BUILTIN.includes(tag.label) && !labels.some((l) => l.name === tag.label) ? tag.label : "";
  $("note").value = tag && tag.note ? tag.note : "";
  $("sheet-clear").hidden = !tag;
  $("sheet-error").hidden = true;
  choicesRender();
  $("sheet").hidden = false;
  $("sheet-backdrop").hidden = false;
  navRender();
  momentChartRender(span[0], span[1]);
  $("sheet").scrollTop = 0;
  backgroundInert(true);
  $("sheet").focus();
  document.dispatchEvent(new CustomEvent("attune:sheet-open", { detail: item }));  // breathe.js offers a session
}

// a modal sheet: the page behind it is out of reach of Tab and of screen readers (the
// in-the-moment prompt stays live: it sits above the sheet and may ask meanwhile)
const KEEP_LIVE = new Set(["sheet", "sheet-backdrop", "ask", "ask-said", "toast"]);
function backgroundInert(on) {
  for (const el of document.body.children) {
    if (el.tagName !== "SCRIPT" && !KEEP_LIVE.has(el.id)) el.inert = on;
  }
}

/** Focus back on the control that opened the sheet; when a redraw replaced it (the chart
 * and the list are redrawn as the day changes), on its successor: the control with the same
 * `data-key` in the same list. */
function openerFocus() {
  if (!opener || open) return;
  const { el, key, home } = opener;
  let target = el.isConnected ? el : null;
  if (!target && key && home) target = document.querySelector(`#${CSS.escape(home)} [data-key="${CSS.escape(key)}"]`);
  if (target && !target.closest("[hidden]")) target.focus();
}

function sheetClose() {
  $("sheet").hidden = true; $("sheet-backdrop").hidden = true; open = null;
  $("sheet-saved").hidden = true;
  backgroundInert(false);
  openerFocus();
}

// "Saved": in the sheet when it moves on to the next, else in the day card above the
// list's buttons (in the flow of the page: it covers nothing)
function savedShow(id, text) {
  for (const other of ["sheet-saved", "day-saved"]) $(other).hidden = true;
  const el = $(id); el.textContent = text; el.hidden = false;
  clearTimeout(savedTimer); savedTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

function choicesRender() {
  const box = $("other-labels");
  box.replaceChildren();
  for (const l of labels) {
    if (l.builtin) continue;
    const b = document.createElement("button");
    b.className = "choice"; b.dataset.label = l.name; b.textContent = l.name;
    box.append(b);
  }
  document.querySelectorAll(".sheet .choice").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.label === chosen));
    b.onclick = () => { chosen = b.dataset.label; $("label-other").value = ""; choicesRender(); };
  });
  labelManagerRender();
}

// your own labels: rename (a typo fixed, or two merged) and delete those no moment uses
function labelManagerRender() {
  const list = $("label-list");
  list.replaceChildren();
  const own = labels.filter((l) => !l.builtin);
  $("manage-labels").hidden = own.length === 0;
  for (const l of own) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = `${l.name} (${l.uses})`;
    const rename = document.createElement("button");
    rename.className = "ghost"; rename.textContent = "Rename"; rename.dataset.rename = l.id;
    rename.onclick = () => labelChange(l, "PUT");
    const del = document.createElement("button");
    del.className = "ghost"; del.textContent = "Delete"; del.dataset.delete = l.id;
    del.disabled = l.uses > 0;
    del.title = l.uses > 0 ? "in use: rename it to another label to merge" : "";
    del.onclick = () => labelChange(l, "DELETE");
    li.append(name, rename, del);
    list.append(li);
  }
}

async function labelChange(label, method) {
  let body;
  if (method === "PUT") {
    const name = prompt(`New name for “${label.name}” (an existing name merges the two):`, label.name);
    if (!name || name.trim() === label.name) return;
    body = { name };
  } else if (!confirm(`Delete the label “${label.name}”?`)) return;
  try {
    await request(`/api/labels/${label.id}`, { method, body });
  } catch (err) { errorShow(err.message); return; }
  if (chosen === label.name) chosen = body ? body.name.trim().toLowerCase() : null;
  await labelsLoad();
  choicesRender();
  hooks.changed({ lists: true });
}

function momentSpan(day) {
  const [fh, fm] = $("moment-from").value.split(":").map(Number);
  const [th, tm] = $("moment-to").value.split(":").map(Number);
  const a = new Date(day); a.setHours(fh, fm, 0, 0);
  const b = new Date(day); b.setHours(th, tm, 0, 0);
  if (b <= a) b.setDate(b.getDate() + 1);  // across midnight
  return [a, b];
}

/** Save the name; with `thenNext`, go straight on to the next unnamed episode of the day. */
async function sheetSave(thenNext) {
  const item = open;
  const label = $("label-other").value.trim() || chosen;
  const note = $("note").value.trim() || null;
  if (!label) { errorShow("Pick Waiting, Bracing, or write your own word."); return; }
  let change;
  try {
    if (item.kind === "episode") {
      const episode = await request(`/api/episodes/${item.episode.id}/tag`, { method: "PUT", body: { label, note } });
      change = { episode };
    } else if (item.moment) {
      await request(`/api/moments/${item.moment.id}`, { method: "PUT", body: { label, note } });
      change = { lists: true };
    } else {
      if (!$("moment-from").value || !$("moment-to").value) { errorShow("Give a start and an end time."); return; }
      const [a, b] = momentSpan(hooks.dayShown());
      await request("/api/moments", { method: "POST", body: { start: isoLocal(a), end: isoLocal(b), label, note } });
      change = { lists: true };  // a moment over an episode names the episode
    }
  } catch (err) { errorShow(err.message); return; }
  const what = item.kind === "episode" ? `${hhmm(toMs(item.episode.start))} named “${label}”` : `“${label}”`;
  await Promise.all([labelsLoad(), hooks.changed(change)]);
  const next = thenNext && item.kind === "episode" && open === item ? nextUnnamed() : null;
  if (next) {  // straight on to the next episode that needs a name
    sheetOpen({ kind: "episode", episode: next });
    savedShow("sheet-saved", `Saved: ${what}. Next:`);
  } else {
    if (open === item) sheetClose();
    savedShow("day-saved", `Saved: ${what}.`);
  }
}

/** One tap: name the episode "i was moving" (its note kept), which sets it aside from the
 * counts; the sheet closes and says so. Clearing the name counts it again. */
async function sheetMoving() {
  const item = open;
  if (!item || item.kind !== "episode") return;
  const note = $("note").value.trim() || null;
  let episode;
  try {
    episode = await request(`/api/episodes/${item.episode.id}/tag`, { method: "PUT", body: { label: MOVING_LABEL, note } });
  } catch (err) { errorShow(err.message); return; }
  await Promise.all([labelsLoad(), hooks.changed({ episode })]);
  if (open === item) sheetClose();
  savedShow("day-saved", `${hhmm(toMs(item.episode.start))}: “${MOVING_TEXT}” — set aside, not counted. Open it and clear the name to count it again.`);
}

async function sheetClear() {
  const item = open;
  let change;
  try {
    if (item.kind === "episode") {
      await request(`/api/episodes/${item.episode.id}/tag`, { method: "DELETE" });
      change = { episodeId: item.episode.id };
    } else if (item.moment) {
      await request(`/api/moments/${item.moment.id}`, { method: "DELETE" });
      change = { lists: true };
    }
  } catch (err) { errorShow(err.message); return; }
  sheetClose();
  await hooks.changed(change);
  if (!document.activeElement || document.activeElement === document.body) openerFocus();  // the list was redrawn
}

function errorShow(text) { const e = $("sheet-error"); e.textContent = text; e.hidden = false; }
