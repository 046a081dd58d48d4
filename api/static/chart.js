// Drawing the day and the live trend. Pure: a day model (day.js) and sizes in, pixels out;
// no DOM lookups, no fetches, no page state. Colours come from `color(name)`.

import { episodeEndMs } from "./day.js";
import { pad, toMs } from "./time.js";

const MIN_SPAN_PX = 3;       // css px: a short episode stays visible and tappable
const TAP_SLACK_PX = 10;     // css px either side of a span that still counts as a tap on it

/** Where things go on a `w`×`h` device-pixel canvas (`dpr` device px per css px). */
export function timelineScales(day, w, h, dpr) {
  const axisH = 18 * dpr, bandH = 12 * dpr, gap = 6 * dpr;
  const top = 6 * dpr, bottom = h - axisH - bandH - gap;
  const x = (t) => (t - day.fromMs) / (day.toMs - day.fromMs) * w;
  const y = (v, [lo, hi]) => bottom - (bottom - top) * (v - lo) / (hi - lo);
  const hr = finite(day.hr_bpm), sc = finite(day.score);
  const ss = day.scoreScale;
  return {
    w, h, dpr, top, bottom, bandTop: bottom + gap, bandH, x, y,
    hrRange: hr.length ? spread(Math.min(...hr) - 5, Math.max(...hr) + 5) : null,
    scoreRange: sc.length ? spread(Math.min(ss.min, ...sc), Math.max(ss.max, ...sc)) : null,
  };
}

/** Tap targets, in device px: `{x0, x1, item}` for each moment and episode span. */
export function timelineHitboxes(day, sc) {
  const box = (a, b, item) => {
    const x0 = sc.x(a);
    return { x0, x1: Math.max(sc.x(b), x0 + MIN_SPAN_PX * sc.dpr), item };
  };
  return [
    ...day.moments.map((m) => box(toMs(m.start), toMs(m.end), { kind: "moment", moment: m })),
    ...day.episodes.map((e) => box(toMs(e.start), episodeEndMs(e), { kind: "episode", episode: e })),
  ];
}

/** The item whose span is nearest to `px` (device px), within the tap slack; else null. */
export function hitboxAt(hitboxes, px, dpr) {
  let best = null, bestD = Infinity;
  for (const { x0, x1, item } of hitboxes) {
    const d = px < x0 ? x0 - px : px > x1 ? px - x1 : 0;
    if (d <= TAP_SLACK_PX * dpr && d < bestD) { best = item; bestD = d; }
  }
  return best;
}

/** Whether the day has nothing to draw (no heart rate, episodes or moments). */
export function timelineIsEmpty(day) {
  return finite(day.hr_bpm).length === 0 && day.episodes.length === 0 && day.moments.length === 0;
}

/** Draw the day onto `ctx`: spans, the state band, heart rate and activation, the now
 * marker at `nowMs` and local hour ticks. */
export function timelineDraw(ctx, day, sc, hitboxes, color, nowMs) {
  const { w, h, dpr, top, bottom } = sc;
  ctx.clearRect(0, 0, w, h);

  // spans: moments, then episodes, shaded over the whole plot
  for (const { x0, x1, item } of hitboxes) {
    ctx.fillStyle = color(item.kind === "moment" ? "--moment" : "--episode");
    ctx.fillRect(x0, top, x1 - x0, bottom - top);
    if (item.kind === "episode" && item.episode.needs_name) {  // waiting for a name: a dashed edge
      ctx.strokeStyle = color("--activated");
      ctx.setLineDash([4 * dpr, 3 * dpr]);
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeRect(x0, top, x1 - x0, bottom - top);
      ctx.setLineDash([]);
    }
  }

  // state band
  for (const s of day.states) {
    ctx.fillStyle = color(`--${s.state}`) || color("--unknown");
    const a = sc.x(s.startMs);
    ctx.fillRect(a, sc.bandTop, Math.max(sc.x(s.endMs) - a, dpr), sc.bandH);
  }

  // lines: heart rate (thin, own scale), activation (thick) over a faint activation threshold
  if (sc.hrRange) seriesDraw(ctx, day, day.hr_bpm, sc, sc.hrRange, color("--hr"), 1);
  if (sc.scoreRange) {
    const yAct = sc.y(day.scoreScale.activated, sc.scoreRange);
    ctx.strokeStyle = color("--muted"); ctx.lineWidth = dpr; ctx.setLineDash([3 * dpr, 4 * dpr]);
    ctx.beginPath(); ctx.moveTo(0, yAct); ctx.lineTo(w, yAct); ctx.stroke(); ctx.setLineDash([]);
    seriesDraw(ctx, day, day.score, sc, sc.scoreRange, color("--score"), 2.2);
  }

  // now marker, hour ticks
  ctx.fillStyle = color("--muted");
  if (nowMs > day.fromMs && nowMs < day.toMs) ctx.fillRect(sc.x(nowMs) - dpr / 2, top, dpr, bottom - top);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  const everyH = w / dpr < 500 ? 6 : 3;
  for (let hh = 0; hh <= 24; hh += everyH) {
    const t = new Date(day.fromMs); t.setHours(hh, 0, 0, 0);
    ctx.textAlign = hh === 0 ? "left" : hh === 24 ? "right" : "center";
    ctx.fillText(`${pad(hh % 24)}:00`, sc.x(t.getTime()), h - 4 * dpr);
  }
}

/** The live heart-rate trend: `points` ([Unix ms, bpm]) of the last `windowMs` up to `nowMs`. */
export function trendDraw(ctx, points, w, h, dpr, color, nowMs, windowMs) {
  ctx.clearRect(0, 0, w, h);
  if (points.length < 2) return;
  const values = points.map(([, v]) => v);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 10) { const mid = (hi + lo) / 2; lo = mid - 5; hi = mid + 5; }
  ctx.strokeStyle = color("--hr");
  ctx.lineWidth = 2 * dpr;
  ctx.lineJoin = "round";
  ctx.beginPath();
  points.forEach(([t, v], i) => {
    const x = w * (1 - (nowMs - t) / windowMs);
    const y = h - 4 - (h - 8) * (v - lo) / (hi - lo);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
}

// one bucketed series as a line, lifting the pen over gaps (null buckets)
function seriesDraw(ctx, day, values, sc, range, stroke, widthPx) {
  ctx.strokeStyle = stroke; ctx.lineWidth = widthPx * sc.dpr; ctx.lineJoin = "round";
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v == null) { pen = false; return; }
    const px = sc.x(day.firstMs + (i + 0.5) * day.bucketMs), py = sc.y(v, range);
    pen ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
    pen = true;
  });
  ctx.stroke();
}

function finite(values) { return values.filter((v) => v != null); }
function spread(lo, hi) { return [lo, hi <= lo ? lo + 1 : hi]; }
