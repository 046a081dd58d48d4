-- Signals: what attune.signals derives from the beats. Beats stay the source of truth:
-- `attune analyze --db` may replace everything here for a time span.

-- One row per 5 s tick on the wall-clock grid (epoch_ms is a multiple of 5000). Features
-- are NULL when the tick is not valid (too little coverage or too many artifacts).
CREATE TABLE tick (
    epoch_ms          INTEGER PRIMARY KEY,    -- tick time = end of its windows, Unix ms UTC
    state             TEXT NOT NULL,          -- settled|activated|high|recovering|physical|calibrating|unknown
    hr_bpm            REAL,                   -- 60 s heart rate
    hr_fast_bpm       REAL,                   -- 10 s heart rate
    rmssd_ms          REAL,                   -- 60 s
    ln_rmssd          REAL,                   -- ln(RMSSD in ms), 60 s
    sdnn_ms           REAL,                   -- 60 s, ddof 1 (display only)
    coverage          REAL NOT NULL,          -- share of the 60 s window covered by usable beats
    artifact_fraction REAL NOT NULL,          -- detected artifacts / intervals in the window
    score             REAL,                   -- activation score (z units)
    z_hr              REAL,
    z_ln_rmssd        REAL,                   -- positive = vagal tone below baseline
    calibration       REAL NOT NULL,          -- baseline calibration progress 0..1
    baseline_used     INTEGER NOT NULL DEFAULT 0  -- 1 = counted into the personal baseline
) WITHOUT ROWID;
-- the baseline is rebuilt from these on start-up and before a re-analysis
CREATE INDEX tick_baseline_used ON tick(epoch_ms) WHERE baseline_used = 1;

-- Changes of the displayed state (the same information as tick.state, for quick timelines).
CREATE TABLE state_change (
    epoch_ms  INTEGER PRIMARY KEY,
    state     TEXT NOT NULL,
    previous  TEXT
) WITHOUT ROWID;

-- Activation episodes. onset_ms is the natural key (fixed when an episode starts). A
-- re-analysis updates the row of the stored episode it overlaps most instead of replacing
-- it, so ids survive where the episode survives. Tags (API) should reference an episode
-- by id *and* keep their own time anchor; see docs/activation.md.
CREATE TABLE episode (
    id               INTEGER PRIMARY KEY,
    onset_ms         INTEGER NOT NULL UNIQUE,
    peak_ms          INTEGER NOT NULL,
    end_ms           INTEGER,                -- NULL while open
    confirmed_ms     INTEGER NOT NULL,       -- tick at which it was announced
    peak_score       REAL NOT NULL,
    delta_hr_bpm     REAL NOT NULL,          -- largest 60 s HR rise above baseline
    delta_ln_rmssd   REAL NOT NULL,          -- largest lnRMSSD fall below baseline (negative)
    duration_s       REAL,
    half_recovery_s  REAL,                   -- peak to half the peak score; NULL if not reached
    quality          REAL NOT NULL,          -- 0..1
    prolonged        INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,          -- open|ended|discarded (turned out to be exertion)
    source           TEXT NOT NULL,          -- live|analysis
    updated_ms       INTEGER NOT NULL        -- wall-clock time of the last write, Unix ms
);
CREATE INDEX episode_end ON episode(end_ms);

-- Baseline estimates at each update point (every 15 min of Unix time), per time-of-day bin.
CREATE TABLE baseline (
    epoch_ms            INTEGER NOT NULL,    -- the update point (a tick time)
    tod_bin             INTEGER NOT NULL,    -- 0..5: 4 h local-time bins from midnight
    hr_bpm              REAL NOT NULL,
    hr_spread_bpm       REAL NOT NULL,
    hr_fast_bpm         REAL NOT NULL,
    hr_fast_spread_bpm  REAL NOT NULL,
    ln_rmssd            REAL NOT NULL,
    ln_rmssd_spread     REAL NOT NULL,
    progress            REAL NOT NULL,       -- calibration progress 0..1
    n_ticks             INTEGER NOT NULL,    -- quiet ticks behind this bin's own estimate
    PRIMARY KEY (epoch_ms, tod_bin)
) WITHOUT ROWID;

-- Each `attune analyze --db` / post-import analysis, for provenance.
CREATE TABLE analysis_run (
    id          INTEGER PRIMARY KEY,
    started_ms  INTEGER NOT NULL,
    from_ms     INTEGER NOT NULL,            -- span replaced (inclusive)
    to_ms       INTEGER NOT NULL,            -- (inclusive)
    beats       INTEGER NOT NULL,
    ticks       INTEGER NOT NULL,
    episodes    INTEGER NOT NULL,
    config      TEXT NOT NULL                -- JSON of the parameters used
);
