// What the page says about movement (issue 8): the motion band under the day's chart, an
// episode's "while still / while moving / movement unknown", the strap's motion capability
// and the "I was moving" answer that sets an episode aside. Pure: no DOM, no fetch.
//
// The timeline sends per bucket the mean activity of the ticks whose motion is known
// (`activity_mg`, null: unknown) and their main posture (`posture`, null: unknown), with
// `motion_scale.moving_mg` (api/analysis.py MOVING_MIN_MG): a bucket at or above it is
// moving, below it still. Only where motion is known is anything drawn; elsewhere the band
// says "movement unknown" — most straps give no motion, and the page never guesses it.

export const MOVING_MIN_MG = 60;                 // api.analysis.MOVING_MIN_MG (the API sends it too)

/** An episode's motion (api Episode.motion) in the words the list and the sheet use. */
export const EPISODE_MOTION_WORDS = { still: "while still", moving: "while moving", unknown: "movement unknown" };
export function episodeMotionWords(motion) { return EPISODE_MOTION_WORDS[motion] || EPISODE_MOTION_WORDS.unknown; }

/** The legend's words for the band. */
export const BAND_WORDS = {
  still: "still",
  moving: "moving",
  posture: "posture change",
  unknown: "movement unknown",
};

/** The built-in label of the one-tap answer (api/tags.py MOVING_LABEL), as stored and as read. */
export const MOVING_LABEL = "i was moving";
export const MOVING_TEXT = "I was moving";
export function isSetAside(e) { return e.set_aside ?? (e.tag != null && e.tag.label === MOVING_LABEL); }
/** A label as the page writes it ("I was moving" for the built-in). */
export function labelText(label) { return label === MOVING_LABEL ? MOVING_TEXT : label; }

/** Bucket i's motion: "still" | "moving" | "unknown". */
export function bucketMotion(day, i) {
  const a = day.activity_mg ? day.activity_mg[i] : null;
  if (a == null) return "unknown";
  return a >= (day.motionScale?.moving_mg ?? MOVING_MIN_MG) ? "moving" : "still";
}

/** The band as spans `{kind: "still"|"moving"|"unknown", startMs, endMs}` over the whole
 * day [fromMs, toMs), neighbouring buckets of one kind merged. */
export function motionSpans(day) {
  const spans = [];
  const n = day.activity_mg ? day.activity_mg.length : 0;
  let at = day.fromMs;
  const push = (kind, a, b) => {
    if (b <= a) return;
    const last = spans[spans.length - 1];
    if (last && last.kind === kind && last.endMs >= a) last.endMs = b; else spans.push({ kind, startMs: a, endMs: b });
  };
  for (let i = 0; i < n; i++) {
    const a = Math.max(day.fromMs, day.firstMs + i * day.bucketMs), b = Math.min(day.toMs, a + day.bucketMs);
    push("unknown", at, a);
    push(bucketMotion(day, i), a, b);
    at = Math.max(at, b);
  }
  push("unknown", at, day.toMs);
  return spans;
}

/** Where the posture changes between buckets whose posture is known (next to each other,
 * or with only unknown buckets between): `[{atMs, from, to}]`. */
export function postureChanges(day) {
  const out = [];
  let last = null;
  (day.posture || []).forEach((p, i) => {
    if (p == null) return;
    if (last != null && p !== last) out.push({ atMs: day.firstMs + i * day.bucketMs, from: last, to: p });
    last = p;
  });
  return out;
}

/** Whether motion is known anywhere on the day. */
export function motionKnown(day) { return (day.activity_mg || []).some((v) => v != null); }

/** One sentence for the band's label: what it shows, for a screen reader and a test. */
export function bandSummary(day, hhmm) {
  if (!motionKnown(day)) return "Movement unknown all day: the strap gave no motion.";
  const spans = motionSpans(day);
  const mins = (k) => Math.round(spans.filter((s) => s.kind === k).reduce((t, s) => t + s.endMs - s.startMs, 0) / 60e3);
  const moving = spans.filter((s) => s.kind === "moving").map((s) => `${hhmm(s.startMs)}–${hhmm(s.endMs)}`);
  return `Movement: still ${mins("still")} min, moving ${mins("moving")} min` +
    (moving.length ? ` (${moving.slice(0, 6).join(", ")}${moving.length > 6 ? ", …" : ""})` : "") +
    `, unknown ${mins("unknown")} min; ${postureChanges(day).length} posture changes.`;
}

/** The strap's motion capability from /api/status, wherever the server puts it (a boolean
 * `motion`, or `device.motion` / `device.has_acc`); null when the status does not say. */
export function motionCapability(status) {
  if (!status) return null;
  for (const v of [status.motion, status.device?.motion, status.device?.has_acc, status.capabilities?.motion]) {
    if (typeof v === "boolean") return v;
  }
  return null;
}
