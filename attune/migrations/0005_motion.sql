-- Motion (issue 8): the strap's accelerometer (Polar PMD), cadence (standard RSC 0x2A53)
-- and accelerometer files brought in with `attune import`.

-- Every PMD / RSC notification byte for byte, stamped on arrival (append-only, like packet):
-- the raw record, from which acc_frame and cadence rows can always be derived again.
CREATE TABLE motion_packet (
    id                INTEGER PRIMARY KEY,
    device_id         INTEGER REFERENCES device(id),
    kind              TEXT NOT NULL,          -- 'pmd' (PMD data 0xFB005C82) | 'rsc' (0x2A53)
    arrival_mono_ns   INTEGER NOT NULL,
    arrival_epoch_ms  INTEGER NOT NULL,
    payload           BLOB NOT NULL,
    status            INTEGER NOT NULL DEFAULT 0,   -- 0 parsed, 1 malformed (kept, see error)
    error             TEXT
);
-- no index on arrival: rows are read by id (acc_frame.packet_id); an index cost 1.1 MB a day at 25 Hz

-- Accelerometer samples, a frame at a time: n samples evenly spaced from first_ms to last_ms
-- (a PMD frame is evenly spaced by definition; imports are cut into evenly spaced runs).
-- xyz_mg: n x (x, y, z) int16 little-endian, mg including gravity.
CREATE TABLE acc_frame (
    id          INTEGER PRIMARY KEY,
    device_id   INTEGER REFERENCES device(id),
    packet_id   INTEGER REFERENCES motion_packet(id),  -- NULL for imports
    import_id   INTEGER REFERENCES import_file(id),    -- NULL for live
    first_ms    INTEGER NOT NULL,
    last_ms     INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    rate_hz     REAL NOT NULL,
    xyz_mg      BLOB NOT NULL,
    CHECK (n > 0 AND last_ms >= first_ms AND length(xyz_mg) = 6 * n)
);
CREATE INDEX acc_frame_first ON acc_frame(first_ms);

-- Step cadence from a standard Running Speed and Cadence sensor (0x2A53), steps/min.
CREATE TABLE cadence_sample (
    epoch_ms     INTEGER NOT NULL,
    device_id    INTEGER REFERENCES device(id),
    packet_id    INTEGER REFERENCES motion_packet(id),
    cadence_spm  REAL NOT NULL
);
CREATE INDEX cadence_sample_epoch ON cadence_sample(epoch_ms);

-- What the strap can do, as last seen (NULL: never asked).
ALTER TABLE device ADD COLUMN has_acc INTEGER;
ALTER TABLE device ADD COLUMN has_rsc INTEGER;

-- Motion per tick (NULL = motion unknown) and per episode.
ALTER TABLE tick ADD COLUMN activity_mg REAL;      -- MAD of the resultant, 5 s, mg
ALTER TABLE tick ADD COLUMN posture TEXT;          -- upright|reclined|lying|unknown; NULL = no motion
ALTER TABLE tick ADD COLUMN cadence_spm REAL;      -- steps/min over 10 s; 0 = no step rhythm
ALTER TABLE tick ADD COLUMN hr_expected_bpm REAL;  -- HR the current activity/posture predicts
ALTER TABLE episode ADD COLUMN motion TEXT NOT NULL DEFAULT 'unknown';  -- still|moving|unknown
