-- The resonance-frequency finder (issue 10): written only by attune.api.breathing.
-- A run paces 5 steps (6.5, 6, 5.5, 5, 4.5 breaths/min); each step is a breathing_session
-- (so it has the session figures and shows on the day) and a resonance_step row with the
-- step's own figures (signals.resonance.resonance_step_compute, from its beats).
-- The person's rate (one row) is the default pace of the Breathe panel and of new sessions.
CREATE TABLE resonance_run (
    id                  INTEGER PRIMARY KEY,
    start_ms            INTEGER NOT NULL,
    end_ms              INTEGER,                 -- NULL while it runs
    status              TEXT NOT NULL,           -- 'running' | 'done' | 'stopped' (page closed, or stopped)
    step_s              REAL NOT NULL,           -- each step's length
    settle_s            REAL NOT NULL,           -- left out at each step's start
    inhale_ratio        REAL NOT NULL,
    chosen_per_min      REAL,                    -- NULL: not done, or could not tell
    reason              TEXT,                    -- why that rate (or why none)
    created_epoch_ms    INTEGER NOT NULL,
    CHECK (status IN ('running', 'done', 'stopped')),
    CHECK (end_ms IS NULL OR end_ms >= start_ms),
    CHECK (step_s > 0 AND settle_s >= 0 AND inhale_ratio > 0)
);
CREATE TABLE resonance_step (
    run_id              INTEGER NOT NULL REFERENCES resonance_run(id),
    k                   INTEGER NOT NULL,        -- 1..5, in the order paced
    rate_per_min        REAL NOT NULL,           -- the pacer's rate
    session_id          INTEGER NOT NULL REFERENCES breathing_session(id),
    start_ms            INTEGER NOT NULL,
    end_ms              INTEGER,                 -- NULL while it runs
    n_beats             INTEGER,                 -- in the analysed window (after settling in)
    window_s            REAL,
    rsa_bpm             REAL,                    -- mean peak-to-trough HR swing per breath
    peak_power_bpm2     REAL,                    -- HR variance within 0.03 Hz of the pacer
    coherence           REAL,                    -- 0..1
    breath_rate_per_min REAL,                    -- the rate the heart showed
    usable              INTEGER,                 -- 1: takes part in the choice
    reason              TEXT,                    -- why not usable
    score               REAL,                    -- resonance_select's score (NULL: unusable)
    PRIMARY KEY (run_id, k)
);
CREATE TABLE resonance_rate (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    rate_per_min        REAL NOT NULL,
    run_id              INTEGER REFERENCES resonance_run(id),  -- the run it came from (NULL: chosen by hand)
    set_epoch_ms        INTEGER NOT NULL
);
