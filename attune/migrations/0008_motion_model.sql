-- The personal motion model (issue 8; attune.signals.additional_hr.MotionModelState):
-- the wearer's upright gravity direction and their activity -> HR residual per activity
-- bin, as it stood after the ticks up to epoch_ms. Written live at every baseline update
-- point and at the end of a recording, and by a re-analysis at the end of its span, so a
-- restart or a later re-analysis continues from it instead of the population prior.
-- (Numbered 0009 in the lead's plan: renumber on merge; migrations must run 1..n without gaps.)
CREATE TABLE motion_model (
    epoch_ms      INTEGER PRIMARY KEY,
    upright_x     REAL,                 -- unit vector in sensor axes; NULL: not learnt yet
    upright_y     REAL,
    upright_z     REAL,
    bin_edges_mg  TEXT NOT NULL,        -- JSON, the bins the sums belong to
    residual_sum  TEXT NOT NULL,        -- JSON, per bin: sum of (observed - prior) HR excess, bpm
    n_ticks       TEXT NOT NULL         -- JSON, per bin: moving ticks learnt
);
