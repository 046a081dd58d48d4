// Small line charts with an axis: the live card's 5-minute heart rate and the sheet's
// "moment" chart. Pure: points and sizes in, a layout (for tests) and pixels out.
// (chart.js draws the day; this module is separate so the two can change apart.)

import { hhmm } from "./time.js";

/** Where things go on a `w`×`h` device-px canvas for `points` ([Unix ms, value]) over
 * [fromMs, toMs]: a left gutter for the value labels, a bottom row for the time labels.
 * Values get a range of at least `minSpan`, rounded out to whole multiples of 5. */
export function sparkLayout(points, w, h, dpr, fromMs, toMs, minSpan = 10) {
  const vals = points.map(([, v]) => v).filter((v) => v != null && Number.isFinite(v));
  let lo = vals.length ? Math.min(...vals) : 60, hi = vals.length ? Math.max(...vals) : 80;
  if (hi - lo < minSpan) { const mid = (hi + lo) / 2; lo = mid - minSpan / 2; hi = mid + minSpan / 2; }
  lo = Math.floor(lo / 5) * 5; hi = Math.ceil(hi / 5) * 5;
  const left = 30 * dpr, right = w - 4 * dpr, top = 6 * dpr, bottom = h - 16 * dpr;
  const x = (t) => left + (right - left) * (t - fromMs) / (toMs - fromMs);
  const y = (v) => bottom - (bottom - top) * (v - lo) / (hi - lo);
  return { w, h, dpr, left, right, top, bottom, lo, hi, fromMs, toMs, x, y };
}

/** Draw `points` as one line (the pen lifts over nulls and gaps longer than `gapMs`) with
 * the value axis (`lo`, `hi` and `unit`) and `timeLabels` ([[Unix ms, text]]); `shade`
 * ([fromMs, toMs] or null) is a span drawn behind the line (an episode, say). */
export function sparkDraw(ctx, L, points, { color, line = "--hr", unit = "bpm", timeLabels = [], shade = null, gapMs = Infinity }) {
  const { w, h, dpr, left, right, top, bottom } = L;
  ctx.clearRect(0, 0, w, h);
  if (shade) {
    ctx.fillStyle = color("--episode");
    const a = Math.max(left, L.x(shade[0])), b = Math.min(right, L.x(shade[1]));
    if (b > a) ctx.fillRect(a, top, Math.max(b - a, dpr), bottom - top);
  }
  // axis: a baseline and the range's two ends, labelled
  ctx.strokeStyle = color("--line"); ctx.lineWidth = dpr;
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, bottom); ctx.lineTo(right, bottom); ctx.stroke();
  ctx.fillStyle = color("--muted");
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  ctx.fillText(String(L.hi), left - 4 * dpr, top + 4 * dpr);
  ctx.fillText(String(L.lo), left - 4 * dpr, bottom - 4 * dpr);
  ctx.textBaseline = "alphabetic";
  ctx.fillText(unit, left - 4 * dpr, h - 3 * dpr);
  for (const [t, text] of timeLabels) {
    const px = L.x(t);
    ctx.textAlign = px < left + 20 * dpr ? "left" : px > right - 20 * dpr ? "right" : "center";
    ctx.fillText(text, px, h - 3 * dpr);
  }
  ctx.strokeStyle = color(line); ctx.lineWidth = 2 * dpr; ctx.lineJoin = "round";
  ctx.beginPath();
  let prev = null;
  for (const [t, v] of points) {
    if (v == null || t < L.fromMs || t > L.toMs) { prev = null; continue; }
    const px = L.x(t), py = L.y(v);
    prev != null && t - prev <= gapMs ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
    prev = t;
  }
  ctx.stroke();
}

/** Time labels for a span: its two ends as "14:02" (or `[[from, "−5 min"], [to, "now"]]` by the caller). */
export function spanLabels(fromMs, toMs) { return [[fromMs, hhmm(fromMs)], [toMs, hhmm(toMs)]]; }
