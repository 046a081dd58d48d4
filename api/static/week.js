// The week: seven days ending with the day shown (today included), each a bar of its
// episodes by kind of name (waiting, bracing, own words, not named yet) with the minutes
// activated under it; the week's counts by name; and the hours of the day they began.
// Plain elements (not a canvas): readable by screen readers, sized by CSS.

import { request, query } from "./api.js";
import { settlingBlock } from "./settling.js";
import { dateInputValue, isToday, startOfDay, TZ } from "./time.js";

export const KINDS = [
  ["waiting", "waiting"], ["bracing", "bracing"], ["own", "own words"], ["unnamed", "not named yet"],
];

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};

/** "24–30 Nov 2026" or "28 Nov – 4 Dec 2026" for the days `firstDate`..`lastDate`
 * ("YYYY-MM-DD", local). Pure. */
export function weekRangeText(firstDate, lastDate) {
  const [a, b] = [firstDate, lastDate].map((s) => { const [y, m, d] = s.split("-").map(Number); return new Date(y, m - 1, d); });
  const month = (d) => d.toLocaleDateString(undefined, { month: "short" });
  if (a.getMonth() === b.getMonth()) return `${a.getDate()}–${b.getDate()} ${month(b)} ${b.getFullYear()}`;
  const yearA = a.getFullYear() === b.getFullYear() ? "" : ` ${a.getFullYear()}`;
  return `${a.getDate()} ${month(a)}${yearA} – ${b.getDate()} ${month(b)} ${b.getFullYear()}`;
}

/** Minutes as a person reads them: "0 min", "45 min", "1 h 20 min". Pure. */
export function minutesText(min) {
  const m = Math.round(min);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ""}`;
}

const total = (d) => KINDS.reduce((s, [k]) => s + d[k], 0);

/** Fetch the week ending with local midnight `lastDay` and draw it into `body`. */
export async function weekLoad(body, lastDay) {
  let w;
  try { w = await request(`/api/week?${query({ end: dateInputValue(lastDay), tz: TZ })}`); }
  catch (err) { body.textContent = err.message; return; }
  weekRender(body, w);
}

export function weekRender(body, w) {
  body.replaceChildren();
  const wrap = el("div", "week");
  wrap.id = "week";
  const head = el("h3", "week-range", weekRangeText(w.days[0].date, w.days[w.days.length - 1].date));
  head.id = "week-range";
  const n = total(w);
  const line = el("p", "week-total", n
    ? `${n} episode${n === 1 ? "" : "s"} · ${minutesText(w.activated_min)} activated`
    : `No episodes this week · ${minutesText(w.activated_min)} activated`);
  wrap.append(head, line);

  // the days: one column each, stacked by kind of name
  const max = Math.max(1, ...w.days.map(total));
  const bars = el("ol", "week-days");
  bars.setAttribute("aria-label", "episodes per day, by name");
  for (const d of w.days) {
    const [y, m, dd] = d.date.split("-").map(Number);
    const day = startOfDay(new Date(y, m - 1, dd));
    const today = isToday(day);
    const li = el("li", "week-day");
    li.dataset.date = d.date;
    if (today) li.dataset.today = "true";
    const count = el("span", "wd-count", String(total(d)));
    const stack = el("span", "wd-stack");
    stack.style.height = `${(100 * total(d)) / max}%`;
    for (const [k] of KINDS) {
      if (!d[k]) continue;
      const seg = el("span", `wd-seg ep-${k}`);
      seg.style.flexGrow = String(d[k]);
      seg.dataset.kind = k;
      seg.dataset.count = String(d[k]);
      stack.append(seg);
    }
    const track = el("span", "wd-track");
    track.append(stack);
    const name = el("span", "wd-name", today ? "today" : day.toLocaleDateString(undefined, { weekday: "short" }));
    const mins = el("span", "wd-min", `${Math.round(d.activated_min)} min`);  // narrow: minutes only
    const words = KINDS.map(([k, w_]) => `${d[k]} ${w_}`).join(", ");
    // breathing sessions that day (issue 10): a small mark in the breathing colour, the count
    const nb = d.breathing_sessions || 0;
    const breath = el("span", "wd-breath", nb ? `${nb}×` : "");
    breath.dataset.sessions = String(nb);
    breath.dataset.min = String(d.breathing_min || 0);
    const breathWords = nb ? `; ${nb} breathing session${nb === 1 ? "" : "s"}, ${minutesText(d.breathing_min)}` : "";
    li.setAttribute("aria-label", `${today ? "today, " : ""}${day.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" })}: ${words}; ${minutesText(d.activated_min)} activated${breathWords}`);
    li.append(count, track, name, mins, breath);
    bars.append(li);
  }
  wrap.append(bars);

  // the week's counts by name, in the chart's colours (the legend of the bars too)
  const counts = el("ul", "week-counts");
  counts.setAttribute("aria-label", "episodes this week by name");
  for (const [k, words] of KINDS) {
    const li = el("li");
    li.dataset.kind = k;
    const sw = el("i", `sw ep-${k}`); sw.setAttribute("aria-hidden", "true");
    li.append(sw, el("span", "wc-name", words), el("b", "wc-n", String(w[k])));
    counts.append(li);
  }
  wrap.append(counts);

  // hours of the day: when they began, over the week
  const hours = el("div", "week-hours");
  hours.setAttribute("role", "img");
  const peak = w.by_hour.indexOf(Math.max(...w.by_hour));
  const hmax = Math.max(1, ...w.by_hour);
  hours.setAttribute("aria-label", n ? `episodes by hour of day; most often between ${peak}:00 and ${peak + 1}:00` : "no episodes by hour of day");
  for (let h = 0; h < 24; h++) {
    const b = el("span", "wh-bar");
    b.style.height = `${(100 * w.by_hour[h]) / hmax}%`;
    b.dataset.hour = String(h);
    b.dataset.count = String(w.by_hour[h]);
    b.title = `${h}:00–${h + 1}:00: ${w.by_hour[h]}`;
    hours.append(b);
  }
  const axis = el("div", "wh-axis");
  for (const t of ["0", "6", "12", "18", "24"]) axis.append(el("span", null, t));
  const cap = el("p", "muted small wh-cap", n ? `When they began, by hour of day (most often ${peak}:00–${peak + 1}:00)` : "When they began, by hour of day");
  wrap.append(hours, axis, cap);

  // breathing sessions by day, and did it help? (the comparison over this week)
  const byDay = w.days.filter((d) => d.breathing_sessions).map((d) => {
    const [y, m, dd] = d.date.split("-").map(Number);
    return `${new Date(y, m - 1, dd).toLocaleDateString(undefined, { weekday: "short" })} ${d.breathing_sessions} (${minutesText(d.breathing_min)})`;
  });
  const settle = settlingBlock(w.breathing_sessions || 0, w.breathing_min || 0, w.settling, "this week");
  settle.id = "week-settling";
  if (byDay.length) {
    const list = el("p", "muted small week-breath-days", `Breathing by day: ${byDay.join(" · ")}`);
    settle.querySelector(".breathing-count").after(list);
  }
  wrap.append(settle);
  body.append(wrap);
}
