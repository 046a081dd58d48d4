-- Breathing seen in the heart rate, per tick (issue 10; attune.signals.breathing,
-- docs/breathing.md). NULL where the 64 s window does not allow it.
-- (Numbered 0011 in the issue plan: renumber on merge; migrations must run 1..n without gaps.)
ALTER TABLE tick ADD COLUMN breath_rate_per_min REAL;  -- dominant HR oscillation, breaths/min
ALTER TABLE tick ADD COLUMN rsa_bpm REAL;              -- mean peak-to-trough HR swing per breath cycle, bpm
ALTER TABLE tick ADD COLUMN coherence REAL;            -- power around the 0.04-0.26 Hz peak / total, 0..1
