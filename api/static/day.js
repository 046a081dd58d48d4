// The shown day in memory: the /api/timeline answer, kept current by live events so a
// tick, a state or one changed episode never costs a fetch of the whole day. Pure data:
// no DOM, no fetch; every function returns what changed.

import { toMs } from "./time.js";

// the analysis' tick period (signals): a fetched bucket's mean stands for this many ticks
const TICK_MS = 5000;
const SERIES = ["hr_bpm", "ln_rmssd", "score", "activity_mg"];

/** The model of a day from a /api/timeline answer fetched at `fetchedMs`. */
export function dayFromTimeline(tl, fetchedMs) {
  const fromMs = toMs(tl.from), firstMs = toMs(tl.first_at), bucketMs = tl.bucket_s * 1000;
  // how many ticks each fetched bucket mean is made of, so later ticks average in fairly
  const weights = tl.score.map((_, i) => {
    const a = firstMs + i * bucketMs, b = Math.min(a + bucketMs, fetchedMs);
    return b > a ? Math.max(1, Math.round((b - a) / TICK_MS)) : 0;
  });
  // motion (issue 8): null where it is unknown (an older server sends none: unknown all day)
  const activity = tl.activity_mg ? [...tl.activity_mg] : tl.score.map(() => null);
  const posture = tl.posture ? [...tl.posture] : tl.score.map(() => null);
  const series = { ...tl, activity_mg: activity };
  const counts = Object.fromEntries(SERIES.map((k) => [k, series[k].map((v, i) => (v == null ? 0 : weights[i]))]));
  return {
    fromMs, toMs: toMs(tl.to), firstMs, bucketMs,
    hr_bpm: [...tl.hr_bpm], ln_rmssd: [...tl.ln_rmssd], score: [...tl.score], counts,
    activity_mg: activity, posture, motionScale: tl.motion_scale || null,
    scoreScale: tl.score_scale,
    states: tl.states.map((s) => ({ state: s.state, startMs: toMs(s.start), endMs: toMs(s.end) })),
    episodes: [...tl.episodes], moments: [...tl.moments],
  };
}

/** Fold one live tick ({at, hr_bpm, ln_rmssd, score, state, activity_mg, posture}) into its
 * bucket; false if the tick is not on this day. Open episodes reach as far as the tick. */
export function dayTickAdd(day, tick) {
  const t = toMs(tick.at);
  if (t == null || t < day.fromMs || t >= day.toMs) return false;
  const i = Math.floor((t - day.firstMs) / day.bucketMs);
  if (i < 0 || i >= day.score.length) return false;
  for (const k of SERIES) {
    const v = tick[k];
    if (v == null) continue;
    const n = day.counts[k][i];
    day[k][i] = n ? (day[k][i] * n + v) / (n + 1) : v;
    day.counts[k][i] = n + 1;
  }
  if (tick.posture != null) day.posture[i] = tick.posture;  // the bucket's latest known posture
  if (tick.state) {
    const a = day.firstMs + i * day.bucketMs, b = Math.min(a + day.bucketMs, day.toMs);
    const last = day.states[day.states.length - 1];
    if (last && last.state === tick.state && last.endMs >= a) last.endMs = Math.max(last.endMs, b);
    else if (!last || last.endMs <= a) day.states.push({ state: tick.state, startMs: a, endMs: b });
    // else: the bucket already has its main state; a change shows from the next bucket
  }
  for (const e of day.episodes) {
    if (e.open) e.duration_s = Math.max(e.duration_s, Math.round((t - toMs(e.start)) / 100) / 10);
  }
  return true;
}

/** Whether an instant (Unix ms) is on this day. */
export function dayHas(day, epochMs) { return epochMs != null && epochMs >= day.fromMs && epochMs < day.toMs; }

/** Put fresh episodes and moments from the API in place of those with the same id, in
 * time order. `span` ([fromMs, toMs)) is where the answer is complete: what the day has
 * there and the answer lacks has gone (an episode the analysis discarded, say). */
export function dayEpisodesMerge(day, episodes, moments, span = null) {
  const gone = (x) => span != null && meets(x, span[0], span[1]);
  const merged = (old, fresh) => {
    const ids = new Set(fresh.map((x) => x.id));
    return old.filter((x) => !ids.has(x.id) && !gone(x))
      .concat(fresh.filter((x) => meets(x, day.fromMs, day.toMs)))
      .sort((a, b) => toMs(a.start) - toMs(b.start));
  };
  day.episodes = merged(day.episodes, episodes);
  day.moments = merged(day.moments, moments);
}

/** Replace the day's episodes and moments outright (a fresh /api/episodes of the day). */
export function dayListsSet(day, episodes, moments) {
  day.episodes = [...episodes];
  day.moments = [...moments];
}

// the API's rule for "meets [fromMs, toMs)"; an open episode (no end yet) reaches on
function meets(x, fromMs, toMs_) { return toMs(x.start) < toMs_ && (toMs(x.end) ?? Infinity) > fromMs; }

/** Episodes and moments in time order, as the list shows them. */
export function dayItems(day) {
  return [
    ...day.episodes.map((e) => ({ at: toMs(e.start), kind: "episode", episode: e })),
    ...day.moments.map((m) => ({ at: toMs(m.start), kind: "moment", moment: m })),
  ].sort((a, b) => a.at - b.at);
}

/** End of an episode in Unix ms (an open one: as far as it has been analysed). */
export function episodeEndMs(e) { return e.end ? toMs(e.end) : toMs(e.start) + e.duration_s * 1000; }
