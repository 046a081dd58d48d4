-- Paced-breathing sessions (issue 10): one row per session, written only by
-- attune.api.breathing. The feedback and HR/lnRMSSD figures are means over stored ticks
-- (NULL where no tick gives them); the "after" ones stay NULL until 5 min after the end
-- (stats_after_ms says when they were computed).
-- (Renumber on merge if needed; migrations must run 1..n without gaps.)
CREATE TABLE breathing_session (
    id                      INTEGER PRIMARY KEY,
    start_ms                INTEGER NOT NULL,
    end_ms                  INTEGER,                 -- NULL while it runs
    rate_per_min            REAL NOT NULL,           -- the pacer's rate, breaths/min
    inhale_ratio            REAL NOT NULL,           -- inhale : exhale as inhale/exhale (1 = even)
    episode_id              INTEGER,                 -- the episode it was started from (id at the time)
    episode_onset_ms        INTEGER,                 -- that episode's onset: ids change on re-analysis
    rsa_bpm                 REAL,                    -- means over the ticks during the session
    coherence               REAL,                    -- 0..1
    breath_rate_per_min     REAL,
    hr_before_bpm           REAL,                    -- 5 min before the start
    ln_rmssd_before         REAL,
    hr_during_bpm           REAL,
    ln_rmssd_during         REAL,
    hr_after_bpm            REAL,                    -- 5 min after the end
    ln_rmssd_after          REAL,
    stats_after_ms          INTEGER,                 -- when the "after" figures were computed
    created_epoch_ms        INTEGER NOT NULL,
    CHECK (end_ms IS NULL OR end_ms > start_ms),
    CHECK (rate_per_min > 0),
    CHECK (inhale_ratio > 0)
);
CREATE INDEX breathing_session_start ON breathing_session(start_ms);
