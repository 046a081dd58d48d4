// What the page says about activation: the one place that maps the API's raw `score` to
// the 0–100 scale a person reads, the words for its bands, and the words for each state.
// Pure: no DOM, no fetch.
//
// The API's score is in units of the person's own quiet fluctuation (signals/states.py):
// 0 is their quiet level, 1.5 is where a rise can count as activated, 3 is strongly
// activated. The page shows it on 0–100 over the chart's score range [SCORE_MIN, SCORE_MAX]
// (api/analysis.py), linearly, clamped at both ends:
//
//     level = 100 · (score − SCORE_MIN) / (SCORE_MAX − SCORE_MIN)      (−1 → 0, 4 → 100)
//
// so the quiet level reads 20, "activated" begins at 50 and "strongly activated" at 80.
// tests/test_web_chart_ux.py checks these numbers against the Python side.

export const SCORE_MIN = -1.0;          // api.analysis.SCORE_MIN
export const SCORE_MAX = 4.0;           // api.analysis.SCORE_MAX
export const ACTIVATE_SCORE = 1.5;      // signals.states.StateConfig.activate_score
export const HIGH_SCORE = 3.0;          // signals.states.StateConfig.high_score

/** The 0–100 level of a raw score (null for none). */
export function scoreLevel(score, min = SCORE_MIN, max = SCORE_MAX) {
  if (score == null || !Number.isFinite(score)) return null;
  return Math.max(0, Math.min(100, Math.round(100 * (score - min) / (max - min))));
}

export const QUIET_LEVEL = scoreLevel(0);                  // 20
export const ACTIVATED_LEVEL = scoreLevel(ACTIVATE_SCORE); // 50
export const HIGH_LEVEL = scoreLevel(HIGH_SCORE);          // 80

/** Bands of the 0–100 scale, low to high: `from` is the band's first level. */
export const BANDS = [
  { from: 0, words: "usual range" },
  { from: ACTIVATED_LEVEL, words: "activated" },
  { from: HIGH_LEVEL, words: "strongly activated" },
];

/** The words for a level's band. */
export function bandWords(level) {
  if (level == null) return null;
  let words = BANDS[0].words;
  for (const b of BANDS) if (level >= b.from) words = b.words;
  return words;
}

/** "62 / 100 · activated" for a raw score; "—" for none. */
export function scoreText(score) {
  const level = scoreLevel(score);
  return level == null ? "—" : `${level} / 100 · ${bandWords(level)}`;
}

/** One sentence behind the ⓘ button. */
export const SCALE_EXPLAINED =
  `Activation compares your heart rate and heart-rate variability with your own quiet baseline, ` +
  `on 0–100: about ${QUIET_LEVEL} is your usual resting level, ${ACTIVATED_LEVEL} and above is activated ` +
  `(a rise well outside your usual range), ${HIGH_LEVEL} and above strongly activated; ` +
  `exercise is recognised and not counted.`;

/** Plain words for the states: the same table as api/analysis.py STATE_WORDS (the live
 * headline comes from the server, the legend from here; a test keeps them equal). */
export const STATE_WORDS = {
  settled: "settled",
  activated: "activated",
  high: "strongly activated",
  recovering: "recovering",
  physical: "exercise — not counted",
  calibrating: "getting to know you",
  unknown: "no clear signal",
};

/** The states in the order the legend lists them. */
export const LEGEND_STATES = ["settled", "activated", "high", "recovering", "physical", "calibrating", "unknown"];

/** Names the chart colours on its own; any other label is "own". */
export const LABEL_KINDS = { waiting: "waiting", bracing: "bracing", "i was moving": "aside" };
/** "waiting" | "bracing" | "aside" ("I was moving": set aside) | "own" for a named episode,
 * null for an unnamed one. */
export function labelKind(label) { return label == null ? null : LABEL_KINDS[label.toLowerCase()] || "own"; }

/** The level unrounded (for drawing), clamped to 0–100; null for none. */
export function scoreLevelExact(score, min = SCORE_MIN, max = SCORE_MAX) {
  if (score == null || !Number.isFinite(score)) return null;
  return Math.max(0, Math.min(100, 100 * (score - (min ?? SCORE_MIN)) / ((max ?? SCORE_MAX) - (min ?? SCORE_MIN))));
}
