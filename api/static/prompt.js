// In-the-moment naming: when the live pipeline confirms an episode, the open page asks at
// its top, without blocking anything: "Since 14:02 your body is bracing or waiting?" —
// Waiting · Bracing · Something else · Not now. The answer names the episode through the tag
// API; "Something else" opens the sheet for the person's own word; "Not now" leaves it for
// the evening and is remembered (this browser), so a reload does not ask again.
// Also: a link to an episode (`/#episode=42`, as the notifications send) opens its sheet.

import { request, query } from "./api.js";
import { hhmm, isoLocal, toMs } from "./time.js";

const $ = (id) => document.getElementById(id);
const DISMISSED_KEY = "attune.prompt.notNow";   // localStorage: starts (Unix ms) of episodes put off
const DISMISSED_MAX = 50;
const LOOK_BACK_MS = 7 * 24 * 3600e3;           // how far back a link to an episode is looked for
const SAID_MS = 5000;

let asking = null;     // {id, startMs, open} while the prompt shows
let saidTimer = null;
let hooks = { openSheet: () => {}, changed: async () => {} };

function dismissed() {
  try { return JSON.parse(localStorage.getItem(DISMISSED_KEY) || "[]"); } catch (_) { return []; }
}
function dismiss(startMs) {
  const list = dismissed().filter((t) => t !== startMs);
  list.push(startMs);
  try { localStorage.setItem(DISMISSED_KEY, JSON.stringify(list.slice(-DISMISSED_MAX))); } catch (_) { /* private mode */ }
}
/** Whether "Not now" was said to the episode that began at `startMs` (Unix ms). */
export function promptDismissed(startMs) { return dismissed().includes(startMs); }

/** The question for an episode that began at `startMs`; `open`: still going. Pure. */
export function promptQuestion(startMs, open = true) {
  return open ? `Since ${hhmm(startMs)} your body is bracing or waiting?`
    : `At ${hhmm(startMs)} your body was activated: bracing or waiting?`;
}

/** Wire the prompt. `openSheet(episode)` opens the sheet for an episode (from /api/episodes);
 * `changed({episode})` is awaited after the prompt named one. */
export function promptInit(options) {
  hooks = { ...hooks, ...options };
  for (const b of document.querySelectorAll("#ask [data-answer]")) {
    b.addEventListener("click", () => answer(b.dataset.answer));
  }
  window.addEventListener("hashchange", linkFollow);
}

function render() {
  const box = $("ask");
  if (!asking) { box.hidden = true; return; }
  $("ask-question").textContent = promptQuestion(asking.startMs, asking.open);
  $("ask-error").hidden = true;
  box.querySelector(".ask-choices").hidden = false;
  box.hidden = false;
}

function say(text) {
  const el = $("ask-said");
  el.textContent = text; el.hidden = false;
  clearTimeout(saidTimer); saidTimer = setTimeout(() => { el.hidden = true; }, SAID_MS);
}

/** Ask about an episode ({id, startMs, open}) unless it was put off. */
export function promptAsk(episode) {
  if (episode.id == null || episode.startMs == null || promptDismissed(episode.startMs)) return false;
  asking = { open: true, ...episode };
  $("ask-said").hidden = true;
  render();
  return true;
}

/** An SSE `episode` event: "started" asks; "ended" keeps asking in the past tense;
 * "discarded" (it was exertion after all) stops asking. */
export function promptOnEpisode(d) {
  if (d.event === "started") { promptAsk({ id: d.id, startMs: toMs(d.start), open: true }); return; }
  if (!asking || d.id !== asking.id) return;
  if (d.event === "discarded") { asking = null; render(); }
  else if (d.event === "ended") { asking.open = false; render(); }
}

/** An SSE `tag` event: the episode asked about was named elsewhere (the sheet, another phone). */
export function promptOnTag(d) {
  if (asking && d.episode_id === asking.id) { asking = null; render(); }
}

async function episodeFind(id, startMs) {
  const now = Date.now();
  const span = startMs != null ? { from: new Date(startMs).toISOString(), to: new Date(startMs + 1000).toISOString() }
    : { from: isoLocal(new Date(now - LOOK_BACK_MS)), to: isoLocal(new Date(now + 60e3)) };
  const found = await request(`/api/episodes?${query(span)}`);
  return found.episodes.find((e) => e.id === id) || null;
}

async function answer(what) {
  const e = asking;
  if (!e) return;
  if (what === "later") {
    dismiss(e.startMs);
    asking = null; render();
    say("Left for later: it waits in the day's list.");
    return;
  }
  if (what === "other") {
    let episode;
    try { episode = await episodeFind(e.id, e.startMs); } catch (err) { errorShow(err.message); return; }
    if (!episode) { errorShow("This episode is no longer there (re-analysed?)."); return; }
    asking = null; render();
    hooks.openSheet(episode);
    $("label-other")?.focus();
    return;
  }
  let episode;
  try {
    episode = await request(`/api/episodes/${e.id}/tag`, { method: "PUT", body: { label: what } });
  } catch (err) { errorShow(err.message); return; }
  asking = null; render();
  say(`Saved: ${hhmm(e.startMs)} named “${what}”.`);
  await hooks.changed({ episode });
}

function errorShow(text) { const el = $("ask-error"); el.textContent = text; el.hidden = false; }

/** On opening the page: ask about today's open episode that still needs a name (unless put
 * off), and follow a link to an episode. */
export async function promptRestore(dayEpisodes) {
  if (await linkFollow()) return;
  const open = (dayEpisodes || []).filter((e) => e.open && (e.needs_name ?? !e.tag));
  const last = open[open.length - 1];
  if (last && !asking) promptAsk({ id: last.id, startMs: toMs(last.start), open: true });
}

/** `#episode=42`: open that episode's sheet (the link a notification carries). */
async function linkFollow() {
  const m = /^#episode=(\d+)$/.exec(location.hash);
  if (!m) return false;
  const id = Number(m[1]);
  history.replaceState(null, "", location.pathname + location.search);  // a reload does not reopen it
  let episode;
  try { episode = await episodeFind(id, null); } catch (err) { say(err.message); return true; }
  if (!episode) { say("That episode is no longer there (re-analysed?): see the day's list."); return true; }
  if (asking && asking.id === id) { asking = null; render(); }
  hooks.openSheet(episode);
  return true;
}
