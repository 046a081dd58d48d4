// attune phone page: the live card, the day's timeline, naming episodes, a short summary.
// Native ES modules, no build step, nothing loaded from elsewhere. This module wires
// them together and owns the day shown.

import { request, query } from "./api.js";
import { episodeMarks, hitboxAt, itemKey, timelineDraw, timelineHitboxes, timelineIsEmpty, timelineScales } from "./chart.js";
import { dayEpisodesMerge, dayFromTimeline, dayHas, dayItems, dayListsSet, dayTickAdd } from "./day.js";
import { linkRender, liveConnect, statusRefresh, trendRender, trendSeed } from "./live.js";
import { labelsLoad, sheetInit, sheetIsOpen, sheetOpen } from "./sheet.js";
import { promptInit, promptOnEpisode, promptOnTag, promptRestore } from "./prompt.js";
import { weekLoad } from "./week.js";
import { breatheInit, breatheMarksLoad, breatheOnBeats, breatheOnEvent, breatheOnTick } from "./breathe.js";
import { settlingBlock } from "./settling.js";
import { labelKind, LEGEND_STATES, SCALE_EXPLAINED, STATE_WORDS } from "./scale.js";
import { BAND_WORDS, bandSummary, episodeMotionWords, isSetAside, labelText, motionKnown, motionSpans, postureChanges } from "./motion.js";
import { addDays, dateInputValue, durationText, hhmm, isoLocal, isToday, startOfDay, toMs, TZ } from "./time.js";

const $ = (id) => document.getElementById(id);
const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const shown = {
  day: startOfDay(new Date()),   // local midnight of the day shown
  model: null,                   // day.js model of that day
  hitboxes: [],                  // chart.js tap targets of the last drawing
  selected: null,                // itemKey (chart.js) of the item tapped last, on the chart or in the list
  summary: "day",                // "day" | "week"
  loading: 0,                    // bumps on every day change: late answers for another day are dropped
};

// -- the day ----------------------------------------------------------------------------------
function spanParams() {
  return { from: isoLocal(shown.day), to: isoLocal(addDays(shown.day, 1)) };
}

/** Fetch the whole day (on opening it, or after a reset); live events keep it current. */
async function dayLoad() {
  const from = shown.day, ticket = ++shown.loading;
  $("day-title").textContent = isToday(from) ? "Today" :
    from.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  $("day-pick").value = dateInputValue(from);
  // aria-disabled, not disabled: a focused › that turns off on reaching today keeps the focus
  $("day-next").setAttribute("aria-disabled", String(isToday(from)));
  const width = Math.max(300, $("timeline").clientWidth);
  let tl;
  try {
    tl = await request(`/api/timeline?${query({ ...spanParams(), max_points: Math.min(1440, Math.round(width)) })}`);
  } catch (err) { toast(err.message); return; }
  if (ticket !== shown.loading) return;
  shown.model = dayFromTimeline(tl, Date.now());
  dayRender();
  summaryLoad();
  breatheMarksLoad(from.getTime(), addDays(from, 1).getTime());  // breathing sessions (breathe.js)
}

/** Episodes and moments of the day afresh (after a moment or label changed). */
async function listsRefresh() {
  const ticket = shown.loading;
  let found;
  try { found = await request(`/api/episodes?${query(spanParams())}`); } catch (err) { toast(err.message); return; }
  if (ticket !== shown.loading || !shown.model) return;
  dayListsSet(shown.model, found.episodes, found.moments);
  dayRender();
  summaryLoad();
}

/** One episode afresh: asks for the second it began (the API's span rule returns the
 * episodes meeting it), so one episode travels instead of the day. */
async function episodeRefresh(startMs) {
  const ticket = shown.loading;
  const span = [startMs, startMs + 1000];
  const iso = (t) => new Date(t).toISOString();  // UTC with milliseconds: the exact instant
  let found;
  try {
    found = await request(`/api/episodes?${query({ from: iso(span[0]), to: iso(span[1]) })}`);
  } catch (err) { toast(err.message); return; }
  if (ticket !== shown.loading || !shown.model) return;
  dayEpisodesMerge(shown.model, found.episodes, found.moments, span);
  dayRender();
  summaryLoad();
}

function dayRender() {
  timelineRender();
  listRender();
}

function canvasSize(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return canvas.getContext("2d");
}

function timelineRender() {
  const canvas = $("timeline"), ctx = canvasSize(canvas), day = shown.model;
  if (!day) {
    ctx.clearRect(0, 0, canvas.width, canvas.height); shown.hitboxes = []; targetsRender(1); motionBandRender(null); return;
  }
  const scales = timelineScales(day, canvas.width, canvas.height, window.devicePixelRatio || 1);
  shown.hitboxes = timelineHitboxes(day, scales);
  timelineDraw(ctx, day, scales, shown.hitboxes, color, Date.now(), shown.selected);
  targetsRender(scales.dpr);
  motionBandRender(day);
  const empty = $("day-empty");
  empty.hidden = !timelineIsEmpty(day);
  empty.textContent = isToday(shown.day)
    ? "Nothing on today's chart yet: it fills in as you wear the strap. ‹ shows earlier days."
    : "Nothing recorded on this day.";
}

/** The motion band under the chart (motion.js): still and moving where the strap gave
 * motion, posture changes as ticks, "movement unknown" elsewhere; on the chart's time axis. */
function motionBandRender(day) {
  const band = $("motion-band");
  band.replaceChildren();
  band.dataset.known = day && motionKnown(day) ? "yes" : "no";
  if (!day) { band.setAttribute("aria-label", "movement"); return; }
  const pct = (t) => `${(100 * (t - day.fromMs) / (day.toMs - day.fromMs)).toFixed(3)}%`;
  const wide = Math.max(1, band.clientWidth);
  for (const s of motionSpans(day)) {
    const el = document.createElement("span");
    el.className = `mb mb-${s.kind}`;
    el.dataset.motion = s.kind;
    el.style.left = pct(s.startMs);
    el.style.width = `${(100 * (s.endMs - s.startMs) / (day.toMs - day.fromMs)).toFixed(3)}%`;
    // the words where they fit (~100 px), so a stretch without motion says so
    if (s.kind === "unknown" && wide * (s.endMs - s.startMs) / (day.toMs - day.fromMs) >= 100) {
      const words = document.createElement("span");  // on a solid ground: readable over the hatching
      words.className = "mb-words"; words.textContent = BAND_WORDS.unknown;
      el.append(words);
    }
    el.title = `${hhmm(s.startMs)}–${hhmm(s.endMs)}: ${BAND_WORDS[s.kind]}`;
    band.append(el);
  }
  for (const c of postureChanges(day)) {
    const el = document.createElement("i");
    el.className = "mb-posture";
    el.style.left = pct(c.atMs);
    el.title = `${hhmm(c.atMs)}: ${c.from} → ${c.to}`;
    band.append(el);
  }
  band.setAttribute("aria-label", bandSummary(day, hhmm));
}

function trendRenderNow() { const c = $("trend"); trendRender(c, canvasSize(c), color); }

/** The `data-key` of the focused control inside `box` (before a redraw replaces it). */
function focusedKey(box) {
  const a = document.activeElement;
  return a && box.contains(a) ? a.dataset.key ?? null : null;
}

/** After a redraw: keyboard focus back on the control of the same key, not lost to the page. */
function focusKeep(box, key) {
  if (key == null) return;
  const b = [...box.querySelectorAll("[data-key]")].find((el) => el.dataset.key === key);
  b?.focus({ preventScroll: true });
}

function listRender() {
  const list = $("episodes");
  const hadFocus = focusedKey(list);
  list.replaceChildren();
  if (!shown.model) return;
  for (const item of dayItems(shown.model)) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    const when = document.createElement("span");
    const label = document.createElement("span");
    if (item.kind === "episode") {
      const e = item.episode;
      when.textContent = e.open ? `since ${hhmm(toMs(e.start))} · still going`
        : `${hhmm(toMs(e.start))}–${hhmm(toMs(e.end))} · ${durationText(e.duration_s)}`;
      const motion = document.createElement("span");  // issue 8: whether motion was known
      motion.className = "motion"; motion.dataset.motion = e.motion || "unknown";
      motion.textContent = episodeMotionWords(e.motion) + (isSetAside(e) ? " · set aside, not counted" : "");
      when.append(motion);
      label.textContent = e.tag ? labelText(e.tag.label) : "needs a name";
      label.className = e.tag ? `label named ep-${labelKind(e.tag.label)}` : "label unnamed";
      button.dataset.episodeId = e.id;
    } else {
      const m = item.moment;
      when.textContent = `${hhmm(toMs(m.start))}–${hhmm(toMs(m.end))} · marked by you`;
      label.textContent = m.label;
      label.className = "label";
      button.dataset.momentId = m.id;
    }
    when.className = "when";
    button.append(when, label);
    button.dataset.key = itemKey(item);
    if (shown.selected === button.dataset.key) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => itemSelect(item));
    li.append(button);
    list.append(li);
  }
  focusKeep(list, hadFocus);
}

function onTimelineTap(ev) {
  const canvas = $("timeline");
  const rect = canvas.getBoundingClientRect();
  const px = (ev.clientX - rect.left) * (canvas.width / rect.width);
  const item = hitboxAt(shown.hitboxes, px, window.devicePixelRatio || 1);
  if (item) itemSelect(item);
}

/** Whether the motion band shows movement somewhere in [aMs, bMs) of the shown day. */
function movingDuring(aMs, bMs) {
  return shown.model ? motionSpans(shown.model).some((s) => s.kind === "moving" && s.startMs < bMs && s.endMs > aMs) : false;
}

// -- one selection for the chart and the list ----------------------------------------------------
/** Select an episode or moment (from the chart or the list): both show it, and its sheet
 * opens; a stretch of exercise says why it is not counted. */
function itemSelect(item) {
  if (item.kind === "physical") {
    // with motion known, say what the strap felt (issue 8); without, as before
    const felt = movingDuring(item.startMs, item.endMs);
    toast(felt ? `${hhmm(item.startMs)}–${hhmm(item.endMs)}: moving — not counted. The strap felt you moving: your heart rate rose with it, not with stress.`
      : `${hhmm(item.startMs)}–${hhmm(item.endMs)}: exercise — not counted. Your heart rate rose with exertion, not with stress.`);
    return;
  }
  shown.selected = itemKey(item);
  timelineRender();
  for (const b of $("episodes").querySelectorAll("button[data-key]")) {
    if (b.dataset.key === shown.selected) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
  }
  sheetOpen(item);
}

/** Buttons over the chart, one per episode, moment and stretch of exercise: each at least
 * 44 px wide around its centre (chart.js hit boxes), named episodes showing their name. A
 * pointer tap goes to the nearest (as on the canvas); Enter/Space to the button's own. */
function targetsRender(dpr) {
  const layer = $("chart-targets");
  const hadFocus = focusedKey(layer);
  layer.replaceChildren();
  const canvas = $("timeline");
  const scale = canvas.clientWidth ? canvas.clientWidth / (canvas.width / dpr) : 1;
  const marks = new Map(episodeMarks(shown.hitboxes, dpr, canvas.width / dpr).map((m) => [m.item, m]));
  const order = { physical: 0, moment: 1, episode: 2 };  // episodes on top
  for (const hb of [...shown.hitboxes].sort((a, b) => order[a.item.kind] - order[b.item.kind])) {
    const { item } = hb;
    const b = document.createElement("button");
    b.type = "button";
    b.className = `chart-target t-${item.kind}`;
    b.dataset.key = itemKey(item);
    b.style.left = `${(hb.x0 / dpr) * scale}px`;
    b.style.width = `${((hb.x1 - hb.x0) / dpr) * scale}px`;
    const text = document.createElement("span");
    text.className = "t-text";
    if (item.kind === "episode") {
      const e = item.episode, kind = labelKind(e.tag?.label ?? null);
      b.dataset.episodeTarget = e.id;
      b.classList.add(kind ? `ep-${kind}` : "unnamed");
      const mark = marks.get(item);
      text.textContent = mark?.text || "";
      if (mark?.row) text.classList.add(`row-${mark.row + 1}`);
      b.setAttribute("aria-label", `episode ${hhmm(toMs(e.start))}, ${
        isSetAside(e) ? "set aside: I was moving" : e.tag ? e.tag.label : "needs a name"}, ${episodeMotionWords(e.motion)}`);
    } else if (item.kind === "moment") {
      b.setAttribute("aria-label", `moment ${hhmm(toMs(item.moment.start))}, ${item.moment.label}`);
    } else {
      const words = movingDuring(item.startMs, item.endMs) ? "moving — not counted" : STATE_WORDS.physical;
      text.textContent = (hb.d1 - hb.d0) / dpr >= 60 ? words : "";
      b.setAttribute("aria-label", `${hhmm(item.startMs)}–${hhmm(item.endMs)}, ${words}`);
    }
    if (b.dataset.key === shown.selected) b.setAttribute("aria-current", "true");
    b.append(text);
    b.addEventListener("click", (ev) => {
      ev.stopPropagation();
      if (ev.detail === 0) { itemSelect(item); return; }  // keyboard: this button's own
      onTimelineTap(ev);
    });
    layer.append(b);
  }
  focusKeep(layer, hadFocus);
}

/** The legend, from scale.js: every state in the same words as the headline, the lines,
 * the threshold, dashed (unnamed) and solid (named) episodes and the names' colours. */
function legendRender() {
  const legend = $("legend");
  legend.replaceChildren();
  const row = (swatch, words) => {
    const li = document.createElement("li");
    const i = document.createElement("i"); i.className = `sw ${swatch}`; i.setAttribute("aria-hidden", "true");
    li.append(i, document.createTextNode(words));
    legend.append(li);
  };
  for (const st of LEGEND_STATES) row(`sw-${st}`, STATE_WORDS[st] + (st === "calibrating" ? " (grey, at the start)" : ""));
  row("sw-line", "activation 0–100 (left)");
  row("sw-hr", "heart rate, bpm (right)");
  row("sw-threshold", "dashed line: activated from 50");
  row("sw-unnamed", "dashed edge: needs a name");
  row("sw-named", "solid edge: named");
  row("sw-ep-waiting", "waiting");
  row("sw-ep-bracing", "bracing");
  row("sw-ep-own", "your own word");
  row("sw-ep-aside", "set aside: I was moving (not counted)");
  // the motion band under the chart (issue 8): what the strap's accelerometer saw
  row("sw-still", `motion band: ${BAND_WORDS.still}`);
  row("sw-moving", `motion band: ${BAND_WORDS.moving}`);
  row("sw-posture", `motion band: ${BAND_WORDS.posture}`);
  row("sw-mb-unknown", `motion band: ${BAND_WORDS.unknown} (the strap gave no motion)`);
  row("sw-breath", "under the chart: a breathing session");  // breathe.js (issue 10)
}

function dayShow(day) {
  shown.day = day;
  shown.model = null;
  shown.selected = null;
  dayRender();  // no rows of the day before stay tappable meanwhile
  dayLoad();
}

// -- what the sheet and live events change ----------------------------------------------------------
async function onSheetChanged(change) {
  if (!change || !shown.model) return;
  if (change.episode) {
    dayEpisodesMerge(shown.model, [change.episode], []);
    dayRender();
    summaryLoad();
  } else if (change.episodeId != null) {
    const e = shown.model.episodes.find((x) => x.id === change.episodeId);
    if (e) await episodeRefresh(toMs(e.start));
  } else {
    await listsRefresh();
  }
}

function onTick(tick) {
  if (shown.model && dayTickAdd(shown.model, tick)) timelineRender();
}

function onEpisode(d) {
  promptOnEpisode(d);  // "started": asked at the top of the page (prompt.js), not in a toast
  if (d.event === "ended") toast("An episode of activation has settled — tap it to name it if you like.");
  if (!shown.model) return;
  const known = d.id != null ? shown.model.episodes.find((e) => e.id === d.id) : null;
  const startMs = toMs(d.start) ?? (known ? toMs(known.start) : null);
  // live episodes reach the present: today shows them even when they began yesterday
  if (startMs != null) { if (dayHas(shown.model, startMs) || isToday(shown.day)) episodeRefresh(startMs); }
  else if (isToday(shown.day)) listsRefresh();  // an announcement without a time: today's lists
}

function onTag(d) {
  promptOnTag(d);
  if (!shown.model) return;
  if (d.episode_id != null) {
    const e = shown.model.episodes.find((x) => x.id === d.episode_id);
    if (e) episodeRefresh(toMs(e.start));
  } else {
    listsRefresh();  // a moment (which may name an episode) or a label rename
  }
}

// -- summary ------------------------------------------------------------------------------------
async function summaryLoad() {
  if (shown.summary === "week") { weekLoad($("summary-body"), shown.day); return; }  // week.js
  const to = addDays(shown.day, 1);
  const from = shown.summary === "week" ? addDays(shown.day, -6) : shown.day;
  let s;
  try { s = await request(`/api/summary?${query({ from: isoLocal(from), to: isoLocal(to), tz: TZ })}`); }
  catch (err) { $("summary-body").textContent = err.message; return; }
  const body = $("summary-body");
  body.replaceChildren();
  const p = (text, cls) => { const e = document.createElement("p"); e.textContent = text; if (cls) e.className = cls; body.append(e); return e; };
  const aside = s.set_aside ? `${s.set_aside} set aside: you were moving (not counted).` : "";
  if (!s.episodes) {
    p(shown.summary === "week" ? "No activation episodes this week." : "No activation episodes on this day.", "muted");
    if (aside) p(aside, "muted small set-aside");
    body.append(settlingBlock(s.breathing_sessions, s.breathing_min, s.settling, "the last 4 weeks"));  // settling.js
    return;
  }
  p(`${s.episodes} episode${s.episodes === 1 ? "" : "s"} of activation` +
    (s.activated_s ? `, ${durationText(s.activated_s)} activated in all` : "") + ".");
  if (aside) p(aside, "muted small set-aside");
  const max = Math.max(1, ...s.by_label.map((r) => r.count));
  for (const r of s.by_label) {
    const row = document.createElement("div"); row.className = "sum-row";
    const name = document.createElement("span"); name.className = "name"; name.textContent = r.label;
    const track = document.createElement("span"); track.className = "track";
    const fill = document.createElement("span"); fill.className = "fill"; fill.style.display = "block";
    fill.style.width = `${100 * r.count / max}%`; track.append(fill);
    const n = document.createElement("span"); n.className = "n"; n.textContent = r.count;
    row.append(name, track, n); body.append(row);
  }
  const tod = document.createElement("div"); tod.className = "tod";
  for (const part of s.time_of_day) {
    const d = document.createElement("div");
    const b = document.createElement("b"); b.textContent = part.count;
    d.append(b, document.createTextNode(part.part)); tod.append(d);
  }
  body.append(tod);
  p(s.median_recovery_s != null ? `Settling again took ${durationText(s.median_recovery_s)} (median).` : "", "muted small");
  body.append(settlingBlock(s.breathing_sessions, s.breathing_min, s.settling, "the last 4 weeks"));  // settling.js
}

let toastTimer = null;
function toast(text) {
  const t = $("toast"); t.textContent = text; t.hidden = false;
  clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

// -- wiring -------------------------------------------------------------------------------------
function init() {
  $("day-prev").onclick = () => dayShow(addDays(shown.day, -1));
  $("day-next").onclick = () => { if (!isToday(shown.day)) dayShow(addDays(shown.day, 1)); };
  $("day-pick").max = dateInputValue(new Date());
  $("day-pick").onchange = (ev) => {
    if (!ev.target.value) return;
    const [y, m, d] = ev.target.value.split("-").map(Number);
    dayShow(startOfDay(new Date(y, m - 1, d)));
  };
  $("timeline").addEventListener("click", onTimelineTap);
  legendRender();
  $("scale-info-text").textContent = SCALE_EXPLAINED;
  $("mark-moment").onclick = () => sheetOpen({ kind: "moment" });
  sheetInit({ dayShown: () => shown.day, dayModel: () => shown.model, changed: onSheetChanged, toast });
  const tabs = [["sum-day", "day"], ["sum-week", "week"]];
  for (const [id, mode] of tabs) {
    $(id).onclick = () => {
      shown.summary = mode;
      $("sum-day").setAttribute("aria-selected", String(mode === "day"));
      $("sum-week").setAttribute("aria-selected", String(mode === "week"));
      $("summary-body").setAttribute("aria-labelledby", id);
      summaryLoad();
    };
    // the tabs pattern: ← → move between the tabs (Tab reaches each of them too)
    $(id).addEventListener("keydown", (ev) => {
      if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
      ev.preventDefault();
      const other = tabs.find(([o]) => o !== id)[0];
      $(other).click(); $(other).focus();
    });
  }
  let resizeTimer = null;
  const redraw = () => { timelineRender(); trendRenderNow(); };
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(redraw, 150); });
  matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", redraw);
  setInterval(() => { linkRender(); trendRenderNow(); }, 1000);
  setInterval(statusRefresh, 30000);
  // a day that rolls over while the page shows "Today" moves along with it
  let shownToday = startOfDay(new Date()).getTime();
  setInterval(() => {
    const today = startOfDay(new Date()).getTime();
    if (today !== shownToday && shown.day.getTime() === shownToday && !sheetIsOpen()) dayShow(startOfDay(new Date()));
    shownToday = today;
  }, 60000);
  statusRefresh();
  labelsLoad();
  promptInit({ openSheet: (episode) => itemSelect({ kind: "episode", episode }), changed: onSheetChanged });
  dayLoad().then(() => promptRestore(shown.model && isToday(shown.day) ? shown.model.episodes : []));
  trendSeed().then(trendRenderNow);
  breatheInit();
  liveConnect({ beats: (d) => { trendRenderNow(); breatheOnBeats(d); }, tick: (d) => { onTick(d); breatheOnTick(d); },
    episode: onEpisode, tag: onTag, reset: dayLoad,
    breathing: (d) => { breatheOnEvent(d); summaryLoad(); } });  // a session started/ended, here or on another page
}

init();  // a module runs once the document is parsed
