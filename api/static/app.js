// attune phone page: live card, the day's timeline, naming episodes, a short summary.
// Plain browser JavaScript, no build step and nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const HOUR_MS = 3600e3, DAY_MS = 24 * HOUR_MS;
const TREND_WINDOW_MS = 5 * 60e3;
const STALE_BEAT_S = 10;

const ui = {
  status: null,
  day: startOfDay(new Date()),   // local midnight of the day shown
  timeline: null,
  labels: [],
  trend: [],                     // [epoch ms, bpm] of recent beats
  lastBeatMs: null,
  sheet: null,                   // {kind: "episode", episode} | {kind: "moment", moment?}
  chosen: null,                  // label picked in the sheet
  summary: "day",
  hitboxes: [],                  // [x0, x1, item] of spans drawn on the timeline
};

// -- time -------------------------------------------------------------------------------------
function startOfDay(d) { const x = new Date(d); x.setHours(0, 0, 0, 0); return x; }
function addDays(d, n) { const x = new Date(d); x.setDate(x.getDate() + n); return startOfDay(x); }
function pad(n, w = 2) { return String(Math.abs(Math.trunc(n))).padStart(w, "0"); }
function isoLocal(d) {
  const off = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}${off >= 0 ? "+" : "-"}${pad(Math.abs(off) / 60)}:${pad(Math.abs(off) % 60)}`;
}
function dateInputValue(d) { return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; }
function hhmm(ms) { const d = new Date(ms); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; }
function ms(iso) { return iso ? Date.parse(iso) : null; }
function duration(s) {
  if (s == null) return "—";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
function isToday(d) { return startOfDay(new Date()).getTime() === d.getTime(); }
const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

// -- API --------------------------------------------------------------------------------------
async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) { location.href = "/pair"; throw new Error("pairing needed"); }
  if (!response.ok) {
    let message = `the request failed (${response.status})`;
    try { const body = await response.json(); if (typeof body.detail === "string") message = body.detail; } catch (_) { /* keep */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}
function query(params) {
  return Object.entries(params).filter(([, v]) => v != null && v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}

// -- live card --------------------------------------------------------------------------------
function renderStatus() {
  const s = ui.status;
  if (!s) return;
  const words = $("state-words");
  words.textContent = s.state_words ||
    (s.connection === "connected" ? "listening…" : s.connection === "reconnecting" ? "looking for the strap" : "not recording");
  words.dataset.state = s.state || "";
  $("hr").textContent = s.hr_bpm != null ? Math.round(s.hr_bpm) : "—";
  $("score").textContent = s.score != null ? s.score.toFixed(1) : "—";
  renderLink();
  const cal = s.calibration;
  $("calibration").hidden = !cal || cal.done;
  if (cal && !cal.done) {
    $("calibration-text").textContent = cal.message || "Getting to know your baseline…";
    $("calibration-bar").style.width = `${Math.round(100 * (cal.progress || 0))}%`;
  }
  if (s.last_beat_at) ui.lastBeatMs = Math.max(ui.lastBeatMs || 0, ms(s.last_beat_at));
}

function renderLink() {
  const s = ui.status;
  if (!s) return;
  const parts = [];
  const ageS = ui.lastBeatMs ? (Date.now() - ui.lastBeatMs) / 1000 : null;
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
  $("beat-age").textContent = ageS == null ? "" : ageS < 3 ? "" : `last beat ${duration(ageS)} ago`;
}

function drawTrend() {
  const canvas = $("trend");
  const ctx = sizeCanvas(canvas);
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const now = Date.now();
  ui.trend = ui.trend.filter(([t]) => t > now - TREND_WINDOW_MS);
  if (ui.trend.length < 2) return;
  const values = ui.trend.map(([, v]) => v);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 10) { const mid = (hi + lo) / 2; lo = mid - 5; hi = mid + 5; }
  ctx.strokeStyle = css("--hr");
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.lineJoin = "round";
  ctx.beginPath();
  ui.trend.forEach(([t, v], i) => {
    const x = w * (1 - (now - t) / TREND_WINDOW_MS);
    const y = h - 4 - (h - 8) * (v - lo) / (hi - lo);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
}

// -- the day's timeline ----------------------------------------------------------------------
async function loadDay() {
  const from = ui.day, to = addDays(ui.day, 1);
  $("day-title").textContent = isToday(from) ? "Today" :
    from.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  $("day-pick").value = dateInputValue(from);
  $("day-next").disabled = isToday(from);
  const width = Math.max(300, $("timeline").clientWidth);
  try {
    ui.timeline = await api(`/api/timeline?${query({ from: isoLocal(from), to: isoLocal(to), max_points: Math.min(1440, Math.round(width)) })}`);
  } catch (err) { toast(err.message); return; }
  drawTimeline();
  renderEpisodes();
  loadSummary();
}

function sizeCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return canvas.getContext("2d");
}
function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function drawTimeline() {
  const tl = ui.timeline;
  const canvas = $("timeline");
  const ctx = sizeCanvas(canvas);
  const dpr = window.devicePixelRatio || 1;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (!tl) return;
  const t0 = ms(tl.from), t1 = ms(tl.to);
  const axisH = 18 * dpr, bandH = 12 * dpr, gap = 6 * dpr;
  const top = 6 * dpr, bottom = h - axisH - bandH - gap;
  const x = (t) => (t - t0) / (t1 - t0) * w;
  ui.hitboxes = [];

  // spans: moments, then episodes (shaded over the whole plot)
  for (const m of tl.moments) {
    ctx.fillStyle = css("--moment");
    const a = x(ms(m.start)), b = Math.max(x(ms(m.end)), a + 3 * dpr);
    ctx.fillRect(a, top, b - a, bottom - top);
    ui.hitboxes.push([a, b, { kind: "moment", moment: m }]);
  }
  for (const e of tl.episodes) {
    const a = x(ms(e.start)), b = Math.max(x(episodeEnd(e)), a + 3 * dpr);
    ctx.fillStyle = css("--episode");
    ctx.fillRect(a, top, b - a, bottom - top);
    if (e.needs_name) {  // waiting for a name: a dashed edge on top
      ctx.strokeStyle = css("--activated");
      ctx.setLineDash([4 * dpr, 3 * dpr]);
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeRect(a, top, b - a, bottom - top);
      ctx.setLineDash([]);
    }
    ui.hitboxes.push([a, b, { kind: "episode", episode: e }]);
  }

  // state band
  const bandTop = bottom + gap;
  for (const s of tl.states) {
    ctx.fillStyle = css(`--${s.state}`) || css("--unknown");
    const a = x(ms(s.start)), b = x(ms(s.end));
    ctx.fillRect(a, bandTop, Math.max(b - a, dpr), bandH);
  }

  // lines: heart rate (thin, own scale), activation (thick)
  const start = ms(tl.first_at), step = tl.bucket_s * 1000;
  const line = (values, color, widthPx, lo, hi) => {
    if (hi <= lo) hi = lo + 1;
    ctx.strokeStyle = color; ctx.lineWidth = widthPx * dpr; ctx.lineJoin = "round";
    ctx.beginPath();
    let pen = false;
    values.forEach((v, i) => {
      if (v == null) { pen = false; return; }
      const px = x(start + (i + 0.5) * step);
      const py = bottom - (bottom - top) * (v - lo) / (hi - lo);
      pen ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
      pen = true;
    });
    ctx.stroke();
  };
  const finite = (a) => a.filter((v) => v != null);
  const hr = finite(tl.hr_bpm);
  if (hr.length) line(tl.hr_bpm, css("--hr"), 1, Math.min(...hr) - 5, Math.max(...hr) + 5);
  const sc = finite(tl.score);
  if (sc.length) {
    const lo = Math.min(tl.score_scale.min, ...sc), hi = Math.max(tl.score_scale.max, ...sc);
    // a faint dashed line where activation begins
    const yAct = bottom - (bottom - top) * (tl.score_scale.activated - lo) / (hi - lo);
    ctx.strokeStyle = css("--muted"); ctx.lineWidth = dpr; ctx.setLineDash([3 * dpr, 4 * dpr]);
    ctx.beginPath(); ctx.moveTo(0, yAct); ctx.lineTo(w, yAct); ctx.stroke(); ctx.setLineDash([]);
    line(tl.score, css("--score"), 2.2, lo, hi);
  }

  // now marker, hour ticks
  const now = Date.now();
  if (now > t0 && now < t1) {
    ctx.fillStyle = css("--muted");
    ctx.fillRect(x(now) - dpr / 2, top, dpr, bottom - top);
  }
  ctx.fillStyle = css("--muted");
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  const everyH = w / dpr < 500 ? 6 : 3;
  for (let hh = 0; hh <= 24; hh += everyH) {
    const t = new Date(ms(tl.from)); t.setHours(hh, 0, 0, 0);
    ctx.textAlign = hh === 0 ? "left" : hh === 24 ? "right" : "center";
    ctx.fillText(`${pad(hh % 24)}:00`, x(t.getTime()), h - 4 * dpr);
  }
  const empty = $("day-empty");
  empty.hidden = hr.length > 0 || tl.episodes.length > 0 || tl.moments.length > 0;
  empty.textContent = isToday(ui.day)
    ? "Nothing on today's chart yet: it fills in as you wear the strap. ‹ shows earlier days."
    : "Nothing recorded on this day.";
}

function episodeLabel(e) {
  if (e.tag) return { text: e.tag.label, cls: "" };
  return { text: "needs a name", cls: "unnamed" };
}
function episodeEnd(e) { return e.end ? ms(e.end) : ms(e.start) + e.duration_s * 1000; }

function renderEpisodes() {
  const list = $("episodes");
  list.replaceChildren();
  const tl = ui.timeline;
  if (!tl) return;
  const items = [
    ...tl.episodes.map((e) => ({ at: ms(e.start), kind: "episode", episode: e })),
    ...tl.moments.map((m) => ({ at: ms(m.start), kind: "moment", moment: m })),
  ].sort((a, b) => a.at - b.at);
  for (const item of items) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    const when = document.createElement("span");
    const label = document.createElement("span");
    if (item.kind === "episode") {
      const e = item.episode;
      when.textContent = e.open ? `since ${hhmm(ms(e.start))} · still going` : `${hhmm(ms(e.start))}–${hhmm(ms(e.end))} · ${duration(e.duration_s)}`;
      const l = episodeLabel(e);
      label.textContent = l.text;
      label.className = `label ${l.cls}`;
      button.dataset.episodeId = e.id;
    } else {
      const m = item.moment;
      when.textContent = `${hhmm(ms(m.start))}–${hhmm(ms(m.end))} · marked by you`;
      label.textContent = m.label;
      label.className = "label";
      button.dataset.momentId = m.id;
    }
    when.className = "when";
    button.append(when, label);
    button.addEventListener("click", () => openSheet(item));
    li.append(button);
    list.append(li);
  }
}

function onTimelineTap(ev) {
  const canvas = $("timeline");
  const rect = canvas.getBoundingClientRect();
  const px = (ev.clientX - rect.left) * (canvas.width / rect.width);
  const slack = 10 * (window.devicePixelRatio || 1);
  let best = null, bestD = Infinity;
  for (const [a, b, item] of ui.hitboxes) {
    const d = px < a ? a - px : px > b ? px - b : 0;
    if (d <= slack && d < bestD) { best = item; bestD = d; }
  }
  if (best) openSheet(best);
}

// -- the sheet: numbers and a name ---------------------------------------------------------------
function openSheet(item) {
  ui.sheet = item;
  const numbers = $("sheet-numbers");
  numbers.replaceChildren();
  const add = (label, value) => {
    if (value == null || value === "—") return;
    const div = document.createElement("div");
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = label; dd.textContent = value;
    div.append(dt, dd); numbers.append(div);
  };
  let tag = null;
  $("moment-times").hidden = true;
  if (item.kind === "episode") {
    const e = item.episode;
    tag = e.tag;
    $("sheet-title").textContent = "A moment of activation";
    $("sheet-when").textContent = e.open ? `since ${hhmm(ms(e.start))}` : `${hhmm(ms(e.start))}–${hhmm(ms(e.end))}`;
    add("lasted", duration(e.duration_s));
    add("peak activation", e.peak_score != null ? e.peak_score.toFixed(1) : null);
    add("heart rate rise", e.hr_rise_bpm != null ? `+${Math.round(e.hr_rise_bpm)} bpm` : null);
    add("settling took", e.recovery_s != null ? duration(e.recovery_s) : e.open ? "still going" : null);
    add("halfway settled after", e.half_recovery_s != null ? duration(e.half_recovery_s) : null);
  } else if (item.moment) {
    const m = item.moment;
    tag = m;
    $("sheet-title").textContent = "A moment you marked";
    $("sheet-when").textContent = `${hhmm(ms(m.start))}–${hhmm(ms(m.end))}`;
  } else {
    $("sheet-title").textContent = "Mark a moment";
    $("sheet-when").textContent = "When did you feel it?";
    $("moment-times").hidden = false;
    const end = isToday(ui.day) ? new Date() : new Date(ui.day.getTime() + 12 * HOUR_MS);
    $("moment-to").value = `${pad(end.getHours())}:${pad(end.getMinutes())}`;
    const begin = new Date(end.getTime() - 15 * 60e3);
    $("moment-from").value = `${pad(begin.getHours())}:${pad(begin.getMinutes())}`;
  }
  ui.chosen = tag ? tag.label : null;
  $("label-other").value = tag && !["waiting", "bracing"].includes(tag.label) && !ui.labels.some((l) => l.name === tag.label) ? tag.label : "";
  $("note").value = tag && tag.note ? tag.note : "";
  $("sheet-clear").hidden = !tag;
  $("sheet-error").hidden = true;
  renderLabelChoices();
  $("sheet").hidden = false;
  $("sheet-backdrop").hidden = false;
  $("sheet").focus();
}

function renderLabelChoices() {
  const box = $("other-labels");
  box.replaceChildren();
  for (const l of ui.labels) {
    if (l.builtin) continue;
    const b = document.createElement("button");
    b.className = "choice"; b.dataset.label = l.name; b.textContent = l.name;
    box.append(b);
  }
  document.querySelectorAll(".sheet .choice").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.label === ui.chosen));
    b.onclick = () => { ui.chosen = b.dataset.label; $("label-other").value = ""; renderLabelChoices(); };
  });
  renderLabelManager();
}

// your own labels: rename (a typo fixed, or two merged) and delete those no moment uses
function renderLabelManager() {
  const list = $("label-list");
  list.replaceChildren();
  const own = ui.labels.filter((l) => !l.builtin);
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
    await api(`/api/labels/${label.id}`, { method, body });
  } catch (err) { showSheetError(err.message); return; }
  if (ui.chosen === label.name) ui.chosen = body ? body.name.trim().toLowerCase() : null;
  await loadLabels();
  renderLabelChoices();
  loadDay();
}

function closeSheet() {
  $("sheet").hidden = true; $("sheet-backdrop").hidden = true; ui.sheet = null;
}

function momentSpan() {
  const [fh, fm] = $("moment-from").value.split(":").map(Number);
  const [th, tm] = $("moment-to").value.split(":").map(Number);
  const a = new Date(ui.day); a.setHours(fh, fm, 0, 0);
  const b = new Date(ui.day); b.setHours(th, tm, 0, 0);
  if (b <= a) b.setDate(b.getDate() + 1);  // across midnight
  return [a, b];
}

async function saveSheet() {
  const item = ui.sheet;
  const other = $("label-other").value.trim();
  const label = other || ui.chosen;
  const note = $("note").value.trim() || null;
  if (!label) { showSheetError("Pick Waiting, Bracing, or write your own word."); return; }
  try {
    if (item.kind === "episode") {
      await api(`/api/episodes/${item.episode.id}/tag`, { method: "PUT", body: { label, note } });
    } else if (item.moment) {
      await api(`/api/moments/${item.moment.id}`, { method: "PUT", body: { label, note } });
    } else {
      if (!$("moment-from").value || !$("moment-to").value) { showSheetError("Give a start and an end time."); return; }
      const [a, b] = momentSpan();
      await api("/api/moments", { method: "POST", body: { start: isoLocal(a), end: isoLocal(b), label, note } });
    }
  } catch (err) { showSheetError(err.message); return; }
  closeSheet();
  toast("Saved.");
  await Promise.all([loadLabels(), loadDay()]);
}

async function clearSheet() {
  const item = ui.sheet;
  try {
    if (item.kind === "episode") await api(`/api/episodes/${item.episode.id}/tag`, { method: "DELETE" });
    else if (item.moment) await api(`/api/moments/${item.moment.id}`, { method: "DELETE" });
  } catch (err) { showSheetError(err.message); return; }
  closeSheet();
  await loadDay();
}

function showSheetError(text) { const e = $("sheet-error"); e.textContent = text; e.hidden = false; }

// -- summary ------------------------------------------------------------------------------------
async function loadSummary() {
  const to = addDays(ui.day, 1);
  const from = ui.summary === "week" ? addDays(ui.day, -6) : ui.day;
  let s;
  try { s = await api(`/api/summary?${query({ from: isoLocal(from), to: isoLocal(to), tz })}`); }
  catch (err) { $("summary-body").textContent = err.message; return; }
  const body = $("summary-body");
  body.replaceChildren();
  const p = (text, cls) => { const e = document.createElement("p"); e.textContent = text; if (cls) e.className = cls; body.append(e); return e; };
  if (!s.episodes) {
    p(ui.summary === "week" ? "No activation episodes this week." : "No activation episodes on this day.", "muted");
  } else {
    p(`${s.episodes} episode${s.episodes === 1 ? "" : "s"} of activation` +
      (s.activated_s ? `, ${duration(s.activated_s)} activated in all` : "") + ".");
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
    p(s.median_recovery_s != null ? `Settling again took ${duration(s.median_recovery_s)} (median).` : "", "muted small");
  }
}

// -- live events ---------------------------------------------------------------------------------
function connectLive() {
  const es = new EventSource("/api/live");
  // a counter of live events received, for people debugging and for the end-to-end test
  const seen = () => { document.body.dataset.liveEvents = String(Number(document.body.dataset.liveEvents || 0) + 1); };
  for (const kind of ["beats", "tick", "state", "episode", "tag", "link", "reset"]) es.addEventListener(kind, seen);
  es.addEventListener("beats", (ev) => {
    const d = JSON.parse(ev.data);
    for (const b of d.beats) {
      const t = ms(b.at);
      ui.lastBeatMs = Math.max(ui.lastBeatMs || 0, t);
      if (b.rr_ms > 0) ui.trend.push([t, 60000 / b.rr_ms]);
    }
    if (ui.status && d.hr_bpm != null) { ui.status.hr_bpm = d.hr_bpm; $("hr").textContent = Math.round(d.hr_bpm); }
    if (ui.status && ui.status.connection !== "connected") ui.status.connection = "connected";
    renderLink();
    drawTrend();
  });
  es.addEventListener("tick", (ev) => {
    const d = JSON.parse(ev.data);
    if (!ui.status) return;
    Object.assign(ui.status, { score: d.score, state: d.state, state_words: d.state_words || ui.status.state_words });
    if (d.calibration) ui.status.calibration = d.calibration;
    renderStatus();
  });
  es.addEventListener("state", (ev) => {
    const d = JSON.parse(ev.data);
    if (!ui.status) return;
    Object.assign(ui.status, { state: d.state, state_words: d.state_words });
    renderStatus();
  });
  es.addEventListener("episode", (ev) => {
    const d = JSON.parse(ev.data);
    if (d.event === "started") toast("Your body is activated right now. You can name it when it settles.");
    if (d.event === "ended") toast("An episode of activation has settled — tap it to name it if you like.");
    if (isToday(ui.day)) loadDay();
  });
  es.addEventListener("tag", () => { if (!ui.sheet) loadDay(); });
  es.addEventListener("link", () => refreshStatus());
  es.addEventListener("reset", () => { refreshStatus(); loadDay(); });
  es.onopen = () => { document.body.dataset.live = "open"; refreshStatus(); };
  es.onerror = () => { document.body.dataset.live = "reconnecting"; };
}

async function refreshStatus() {
  try { ui.status = await api("/api/status"); renderStatus(); } catch (_) { /* shown by link text */ }
}
async function loadLabels() {
  try { ui.labels = (await api("/api/labels")).labels; } catch (_) { ui.labels = []; }
}
async function seedTrend() {
  const now = new Date();
  try {
    const tl = await api(`/api/timeline?${query({ from: isoLocal(new Date(now - TREND_WINDOW_MS)), to: isoLocal(now), max_points: 120 })}`);
    const start = ms(tl.first_at), step = tl.bucket_s * 1000;
    ui.trend = tl.hr_bpm.map((v, i) => [start + (i + 0.5) * step, v]).filter(([, v]) => v != null).concat(ui.trend);
    drawTrend();
  } catch (_) { /* the trend fills from live beats */ }
}

let toastTimer = null;
function toast(text) {
  const t = $("toast"); t.textContent = text; t.hidden = false;
  clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

// -- wiring -------------------------------------------------------------------------------------
function init() {
  $("day-prev").onclick = () => { ui.day = addDays(ui.day, -1); loadDay(); };
  $("day-next").onclick = () => { if (!isToday(ui.day)) { ui.day = addDays(ui.day, 1); loadDay(); } };
  $("day-pick").max = dateInputValue(new Date());
  $("day-pick").onchange = (ev) => {
    if (!ev.target.value) return;
    const [y, m, d] = ev.target.value.split("-").map(Number);
    ui.day = startOfDay(new Date(y, m - 1, d)); loadDay();
  };
  $("timeline").addEventListener("click", onTimelineTap);
  $("mark-moment").onclick = () => openSheet({ kind: "moment" });
  $("sheet-save").onclick = saveSheet;
  $("sheet-cancel").onclick = closeSheet;
  $("sheet-clear").onclick = clearSheet;
  $("sheet-backdrop").onclick = closeSheet;
  $("label-other").oninput = () => { if ($("label-other").value.trim()) { ui.chosen = null; renderLabelChoices(); } };
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && ui.sheet) closeSheet(); });
  for (const [id, mode] of [["sum-day", "day"], ["sum-week", "week"]]) {
    $(id).onclick = () => {
      ui.summary = mode;
      $("sum-day").setAttribute("aria-selected", String(mode === "day"));
      $("sum-week").setAttribute("aria-selected", String(mode === "week"));
      loadSummary();
    };
  }
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { drawTimeline(); drawTrend(); }, 150); });
  matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => { drawTimeline(); drawTrend(); });
  setInterval(() => { renderLink(); drawTrend(); }, 1000);
  setInterval(refreshStatus, 30000);
  // a day that rolls over while the page shows "Today" moves along with it
  let shownToday = startOfDay(new Date()).getTime();
  setInterval(() => {
    const today = startOfDay(new Date()).getTime();
    if (today !== shownToday && ui.day.getTime() === shownToday && !ui.sheet) { ui.day = startOfDay(new Date()); loadDay(); }
    shownToday = today;
  }, 60000);
  refreshStatus();
  loadLabels();
  loadDay();
  seedTrend();
  connectLive();
}

document.addEventListener("DOMContentLoaded", init);
