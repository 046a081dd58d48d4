// Local days and times as the phone shows them. Instants are Unix ms (`…Ms`) or Date.

export const HOUR_MS = 3600e3;
export const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

/** Local midnight of `d`'s day (a new Date). */
export function startOfDay(d) { const x = new Date(d); x.setHours(0, 0, 0, 0); return x; }
/** Local midnight `n` days after `d`'s (DST-safe: calendar days, not 24 h). */
export function addDays(d, n) { const x = new Date(d); x.setDate(x.getDate() + n); return startOfDay(x); }
export function isToday(d) { return startOfDay(new Date()).getTime() === d.getTime(); }
export function pad(n, w = 2) { return String(Math.abs(Math.trunc(n))).padStart(w, "0"); }

/** ISO 8601 with the phone's offset, e.g. 2026-11-21T08:00:00+01:00 (the API wants a zone). */
export function isoLocal(d) {
  const off = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}${off >= 0 ? "+" : "-"}${pad(Math.abs(off) / 60)}:${pad(Math.abs(off) % 60)}`;
}
export function dateInputValue(d) { return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; }
export function timeInputValue(d) { return `${pad(d.getHours())}:${pad(d.getMinutes())}`; }
/** "08:05" for a Unix ms instant, local time. */
export function hhmm(epochMs) { return timeInputValue(new Date(epochMs)); }
/** Unix ms of an ISO string from the API; null for none (or an unreadable one). */
export function toMs(iso) { const t = iso ? Date.parse(iso) : NaN; return Number.isFinite(t) ? t : null; }
/** "40 s", "12 min", "1.5 h"; "—" for none. */
export function durationText(seconds) {
  if (seconds == null) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
