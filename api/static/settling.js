// Did it help? (issue 10): the breathing sessions of a day or week, and the settling time of
// episodes followed by a session vs those that were not (api/settling.py; docs/breathing.md).
// The numbers come from the server; here they are only put into words. No figure, and no
// claim, while either group is too small; never a word of cause.

import { durationText } from "./time.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "2 breathing sessions, 14 min" / "No breathing sessions". Pure. */
export function breathingText(n, minutes) {
  if (!n) return "No breathing sessions";
  return `${plural(n, "breathing session", "breathing sessions")}, ${Math.round(minutes)} min`;
}

/** The comparison `st` (an /api/summary or /api/week `settling`) in words, over `span`
 * ("the last 4 weeks", "this week"): `{figure, note}`. Pure. */
export function settlingText(st, span) {
  if (!st) return { figure: "", note: "" };
  const w = st.with_session, wo = st.without_session;
  const win = Math.round(st.window_s / 60);
  if (!st.comparable) {
    return {
      figure: `Too few episodes to compare settling yet: ${w.episodes} with a breathing session, ${wo.episodes} without (${span}; ${st.min_episodes} of each needed).`,
      note: "",
    };
  }
  return {
    figure: `Settling (onset to half recovered), ${span}: after a breathing session begun within ${win} min, ` +
      `median ${durationText(w.median_s)} (${plural(w.episodes, "episode", "episodes")}); ` +
      `without one, ${durationText(wo.median_s)} (${plural(wo.episodes, "episode", "episodes")}).`,
    note: "You chose when to breathe, so these episodes may differ in other ways: this compares, it does not prove.",
  };
}

/** A block for the summary area: sessions, then the comparison. */
export function settlingBlock(nSessions, minutes, st, span) {
  const box = document.createElement("div");
  box.className = "settling";
  box.id = "settling";
  const p = (text, cls) => { const e = document.createElement("p"); e.textContent = text; if (cls) e.className = cls; box.append(e); return e; };
  p(`${breathingText(nSessions, minutes)}.`, "breathing-count");
  const { figure, note } = settlingText(st, span);
  if (figure) {
    const f = p(figure, "small settling-figure");
    f.dataset.comparable = String(!!st.comparable);
  }
  if (note) p(note, "muted small settling-note");
  return box;
}
