// Drawing the day and the live trend. Pure: a day model (day.js) and sizes in, pixels out;
// no DOM lookups, no fetches, no page state. Colours come from `color(name)`.

import { episodeEndMs } from "./day.js";
import { ACTIVATED_LEVEL, labelKind, scoreLevelExact } from "./scale.js";
import { pad, toMs } from "./time.js";

const MIN_SPAN_PX = 3;       // css px: a short episode stays visible
const TAP_MIN_PX = 44;       // css px: every episode's tap target is at least this wide
const TAP_SLACK_PX = 10;     // css px either side of a tap target that still counts as a tap on it
const LABEL_TOP_PX = 18;     // css px above the plot for the episodes' names (drawn by the page)

/** Where things go on a `w`×`h` device-pixel canvas (`dpr` device px per css px). The
 * activation line is drawn on the 0–100 scale of scale.js (its axis on the left), heart
 * rate on its own (axis on the right); both axes sit inside the plot, so the day spans
 * the whole width. */
export function timelineScales(day, w, h, dpr) {
  const axisH = 18 * dpr, bandH = 12 * dpr, gap = 6 * dpr;
  const top = LABEL_TOP_PX * dpr, bottom = h - axisH - bandH - gap;
  const x = (t) => (t - day.fromMs) / (day.toMs - day.fromMs) * w;
  const y = (v, [lo, hi]) => bottom - (bottom - top) * (v - lo) / (hi - lo);
  const hr = finite(day.hr_bpm), sc = finite(day.score);
  return {
    w, h, dpr, top, bottom, bandTop: bottom + gap, bandH, x, y,
    hrRange: hr.length ? niceRange(Math.min(...hr) - 5, Math.max(...hr) + 5) : null,
    scoreRange: sc.length ? [0, 100] : null,
  };
}

/** Tap targets, in device px: `{x0, x1, cx, d0, d1, item}` for each moment, episode and
 * stretch of exercise. [x0, x1] is where a tap counts: at least TAP_MIN_PX css px wide,
 * centred on the span's centre `cx`; [d0, d1] is what is drawn (at least MIN_SPAN_PX). */
export function timelineHitboxes(day, sc) {
  const box = (a, b, item) => {
    const d0 = sc.x(a), d1 = Math.max(sc.x(b), d0 + MIN_SPAN_PX * sc.dpr), cx = (d0 + d1) / 2;
    const half = Math.max(d1 - d0, TAP_MIN_PX * sc.dpr) / 2;
    return { x0: cx - half, x1: cx + half, cx, d0, d1, item };
  };
  return [
    ...day.states.filter((s) => s.state === "physical")
      .map((s) => box(s.startMs, s.endMs, { kind: "physical", startMs: s.startMs, endMs: s.endMs })),
    ...day.moments.map((m) => box(toMs(m.start), toMs(m.end), { kind: "moment", moment: m })),
    ...day.episodes.map((e) => box(toMs(e.start), episodeEndMs(e), { kind: "episode", episode: e })),
  ];
}

/** The item a tap at `px` (device px) means: among the targets it is in (or within the tap
 * slack of), episodes and moments before exercise, then the one whose centre is nearest;
 * else null. */
export function hitboxAt(hitboxes, px, dpr) {
  let best = null, bestKey = null;
  for (const { x0, x1, cx, item } of hitboxes) {
    const d = px < x0 ? x0 - px : px > x1 ? px - x1 : 0;
    if (d > TAP_SLACK_PX * dpr) continue;
    const key = [item.kind === "physical" ? 1 : 0, d, Math.abs(px - cx)];
    if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] ||
        (key[1] === bestKey[1] && key[2] < bestKey[2])))) { best = item; bestKey = key; }
  }
  return best;
}

/** What the page writes over each episode on the chart, in css px: `{item, cx, text, row}`:
 * the episode's name where it fits beside its neighbours (in one of three rows), else its
 * initial, else nothing; unnamed episodes get no text (their dashed edge says it). */
export function episodeMarks(hitboxes, dpr, widthCss = Infinity, charPx = 6.6) {
  const marks = [];
  const lastRight = [-Infinity, -Infinity, -Infinity];  // per row
  // kept clear: the axis titles (row 1) and the top ticks (row 2), at both ends
  const reserved = [[[0, 112], [widthCss - 100, Infinity]], [[0, 30], [widthCss - 30, Infinity]], []];
  const free = (r, a, b) => a >= lastRight[r] + 2 && reserved[r].every(([x0, x1]) => b <= x0 || a >= x1);
  for (const hb of hitboxes) {
    if (hb.item.kind !== "episode") continue;
    const tag = hb.item.episode.tag, cx = hb.cx / dpr;
    let text = "", row = 0;
    if (tag) {
      const name = labelKind(tag.label) === "aside" ? "set aside" : tag.label;  // "I was moving"
      const initial = name.slice(0, 1).toUpperCase();
      const tries = [0, 1, 2].map((r) => [name, r]).concat([0, 1, 2].map((r) => [initial, r]));
      for (const [t, r] of tries) {
        const half = (t.length * charPx + 6) / 2;
        if (free(r, cx - half, cx + half)) { text = t; row = r; lastRight[r] = cx + half; break; }
      }
    }
    marks.push({ item: hb.item, cx, text, row });
  }
  return marks;
}

/** Whether the day has nothing to draw (no heart rate, episodes or moments). */
export function timelineIsEmpty(day) {
  return finite(day.hr_bpm).length === 0 && day.episodes.length === 0 && day.moments.length === 0;
}

/** Draw the day onto `ctx`: exercise (hatched), spans (episodes coloured by their name:
 * dashed edge = unnamed, solid = named; `selected` is the selected item's id key, e.g.
 * "episode:12"), the state band, heart rate and activation with their axes, the labelled
 * threshold, the now marker at `nowMs` and local hour ticks. */
export function timelineDraw(ctx, day, sc, hitboxes, color, nowMs, selected = null) {
  const { w, h, dpr, top, bottom } = sc;
  ctx.clearRect(0, 0, w, h);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;

  // exercise: hatched over the plot, never shaded like activation
  for (const { d0, d1, item } of hitboxes) {
    if (item.kind !== "physical") continue;
    hatch(ctx, d0, top, d1 - d0, bottom - top, color("--physical"), dpr);
  }

  // spans: moments, then episodes, shaded over the whole plot
  for (const { d0, d1, item } of hitboxes) {
    if (item.kind === "physical") continue;
    const kind = item.kind === "episode" ? labelKind(item.episode.tag?.label ?? null) : null;
    const isSelected = selected != null && selected === itemKey(item);
    ctx.fillStyle = item.kind === "moment" ? color("--moment") : kind ? color(`--ep-${kind}-fill`) : color("--episode");
    ctx.fillRect(d0, top, d1 - d0, bottom - top);
    if (item.kind === "episode") {  // unnamed: a dashed edge; named: solid in the name's colour
      ctx.strokeStyle = kind ? color(`--ep-${kind}`) : color("--activated");
      ctx.setLineDash(kind ? [] : [4 * dpr, 3 * dpr]);
      ctx.lineWidth = (kind ? 2 : 1.5) * dpr;
      ctx.strokeRect(d0, top, d1 - d0, bottom - top);
      ctx.setLineDash([]);
    }
    if (isSelected) {
      ctx.strokeStyle = color("--ink"); ctx.lineWidth = 2.5 * dpr;
      ctx.strokeRect(d0 - 2 * dpr, top - 2 * dpr, d1 - d0 + 4 * dpr, bottom - top + 4 * dpr);
    }
  }

  // state band (exercise hatched here too)
  for (const s of day.states) {
    const a = sc.x(s.startMs), bw = Math.max(sc.x(s.endMs) - a, dpr);
    ctx.fillStyle = color(`--${s.state}`) || color("--unknown");
    ctx.fillRect(a, sc.bandTop, bw, sc.bandH);
    if (s.state === "physical") hatch(ctx, a, sc.bandTop, bw, sc.bandH, color("--card"), dpr);
  }

  // lines: heart rate (thin, own scale), activation (thick, 0–100) over its labelled threshold
  if (sc.hrRange) seriesDraw(ctx, day, day.hr_bpm, sc, sc.hrRange, color("--hr"), 1, (v) => v);
  if (sc.scoreRange) {
    const yAct = sc.y(ACTIVATED_LEVEL, sc.scoreRange);
    ctx.strokeStyle = color("--muted"); ctx.lineWidth = dpr; ctx.setLineDash([3 * dpr, 4 * dpr]);
    ctx.beginPath(); ctx.moveTo(0, yAct); ctx.lineTo(w, yAct); ctx.stroke(); ctx.setLineDash([]);
    const ss = day.scoreScale || {};
    seriesDraw(ctx, day, day.score, sc, sc.scoreRange, color("--score"), 2.2, (v) => scoreLevelExact(v, ss.min, ss.max));
  }

  // axes, inside the plot: activation 0–100 on the left, heart rate (bpm) on the right
  const tag = (text, x, y, align, ink) => {
    ctx.textAlign = align; ctx.textBaseline = "middle";
    const tw = ctx.measureText(text).width, pw = 3 * dpr;
    const bx = align === "left" ? x : align === "right" ? x - tw : x - tw / 2;
    ctx.fillStyle = color("--card"); ctx.globalAlpha = 0.8;
    ctx.fillRect(bx - pw, y - 7 * dpr, tw + 2 * pw, 14 * dpr);
    ctx.globalAlpha = 1; ctx.fillStyle = ink; ctx.fillText(text, x, y);
  };
  const pad_ = 4 * dpr;
  const under = (v, range) => sc.y(v, range) + (v === range[1] ? 8 * dpr : 0);
  if (sc.scoreRange) {
    // the top ticks sit just under the plot's top edge, clear of the axis titles
    for (const v of [0, 100]) tag(String(v), pad_, under(v, sc.scoreRange), "left", color("--score"));
    tag(`${ACTIVATED_LEVEL} activated`, pad_, sc.y(ACTIVATED_LEVEL, sc.scoreRange), "left", color("--ink"));
    tag("activation 0–100", pad_, top - 9 * dpr, "left", color("--score"));
  }
  if (sc.hrRange) {
    const [lo, hi] = sc.hrRange;
    for (const v of [lo, Math.round((lo + hi) / 2), hi]) tag(String(v), w - pad_, under(v, sc.hrRange), "right", color("--hr"));
    tag("heart rate bpm", w - pad_, top - 9 * dpr, "right", color("--hr"));
  }
  ctx.textBaseline = "alphabetic";

  // now marker, hour ticks
  ctx.fillStyle = color("--muted");
  if (nowMs > day.fromMs && nowMs < day.toMs) ctx.fillRect(sc.x(nowMs) - dpr / 2, top, dpr, bottom - top);
  const everyH = w / dpr < 500 ? 6 : 3;
  for (let hh = 0; hh <= 24; hh += everyH) {
    const t = new Date(day.fromMs); t.setHours(hh, 0, 0, 0);
    ctx.textAlign = hh === 0 ? "left" : hh === 24 ? "right" : "center";
    ctx.fillText(`${pad(hh % 24)}:00`, sc.x(t.getTime()), h - 4 * dpr);
  }
}

/** "episode:12", "moment:3", "physical:<start ms>": one selection for the chart and the list. */
export function itemKey(item) {
  if (!item) return null;
  return item.kind === "episode" ? `episode:${item.episode.id}` : item.kind === "moment" ? `moment:${item.moment.id}`
    : `physical:${item.startMs}`;
}

// one bucketed series as a line, lifting the pen over gaps (null buckets)
function seriesDraw(ctx, day, values, sc, range, stroke, widthPx, shown) {
  ctx.strokeStyle = stroke; ctx.lineWidth = widthPx * sc.dpr; ctx.lineJoin = "round";
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v == null) { pen = false; return; }
    const px = sc.x(day.firstMs + (i + 0.5) * day.bucketMs), py = sc.y(shown(v), range);
    pen ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
    pen = true;
  });
  ctx.stroke();
}

function finite(values) { return values.filter((v) => v != null); }
// a heart-rate range on whole tens (at least 20 bpm), so its axis reads in round numbers
function niceRange(lo, hi) {
  const a = Math.floor(lo / 10) * 10, b = Math.ceil(hi / 10) * 10;
  return [a, Math.max(b, a + 20)];
}

// diagonal stripes over a rectangle (exercise), clipped to it
function hatch(ctx, x, y, w, h, stroke, dpr) {
  if (w <= 0 || h <= 0) return;
  ctx.save();
  ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
  ctx.strokeStyle = stroke; ctx.lineWidth = 1.5 * dpr;
  const step = 6 * dpr;
  ctx.beginPath();
  for (let i = x - h; i < x + w; i += step) { ctx.moveTo(i, y + h); ctx.lineTo(i + h, y); }
  ctx.stroke();
  ctx.restore();
}
