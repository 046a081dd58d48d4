-- Ingest: what the strap sent, exactly as it arrived, and the beats reconstructed from it.
-- Append-only: rows are never updated or deleted by the recorder.

-- A device we have seen (a strap, or a file source for imports).
CREATE TABLE device (
    id            INTEGER PRIMARY KEY,
    address       TEXT NOT NULL UNIQUE,       -- BLE address, or "import:<sha256-prefix>" for files
    name          TEXT,
    manufacturer  TEXT,
    model         TEXT,
    serial        TEXT,
    firmware      TEXT,
    body_location TEXT
);

-- A segment is a stretch of beats whose times come from one continuous RR chain.
-- A new one starts on connect/reconnect, after contact loss, and when the chain drifts
-- beyond its bound; nothing is computed across segment boundaries.
CREATE TABLE segment (
    id                 INTEGER PRIMARY KEY,
    device_id          INTEGER REFERENCES device(id),
    source             TEXT NOT NULL,         -- 'ble' | 'import' | 'demo'
    reason             TEXT NOT NULL,         -- why it started: connect, reconnect, contact, lag, lead, clock, import
    started_epoch_ms   INTEGER NOT NULL,      -- wall time of the first packet (or first beat for imports)
    wall_minus_mono_ms REAL,                  -- wall clock minus monotonic clock when it started
    note               TEXT
);

-- Every notification, byte for byte, stamped on arrival. status 0 = parsed, otherwise the
-- parser's error code (the payload is kept so nothing is lost and it can be re-parsed).
CREATE TABLE packet (
    id                INTEGER PRIMARY KEY,
    segment_id        INTEGER REFERENCES segment(id),
    arrival_mono_ns   INTEGER NOT NULL,
    arrival_epoch_ms  INTEGER NOT NULL,
    payload           BLOB NOT NULL,
    status            INTEGER NOT NULL DEFAULT 0,
    error             TEXT
);

-- One row per RR interval (the beat that ends it). rr_1024 keeps the strap's exact ticks;
-- rr_ms is derived (or read from an imported file). flags: see attune.ingest.plausibility.
CREATE TABLE beat (
    id          INTEGER PRIMARY KEY,
    segment_id  INTEGER NOT NULL REFERENCES segment(id),
    packet_id   INTEGER REFERENCES packet(id),
    epoch_ms    INTEGER NOT NULL,             -- reconstructed time of the beat, Unix ms UTC
    rr_1024     INTEGER,                      -- exact strap ticks (1/1024 s); NULL for imports
    rr_ms       REAL NOT NULL,
    hr_bpm      INTEGER,                      -- the strap's own HR in the same packet
    flags       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX beat_epoch ON beat(epoch_ms);
CREATE INDEX beat_segment ON beat(segment_id, epoch_ms);

-- Connection life and device state: connected, disconnected, battery, contact, rssi,
-- parse_error, clock_step, scan, recording_started/stopped. value is JSON.
CREATE TABLE status_event (
    id         INTEGER PRIMARY KEY,
    epoch_ms   INTEGER NOT NULL,
    device_id  INTEGER REFERENCES device(id),
    kind       TEXT NOT NULL,
    value      TEXT
);
CREATE INDEX status_event_epoch ON status_event(epoch_ms);
CREATE INDEX status_event_kind ON status_event(kind, epoch_ms);

-- Files brought in with `attune import`, so the same file is never imported twice.
CREATE TABLE import_file (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE,
    path         TEXT NOT NULL,
    format       TEXT NOT NULL,
    beats        INTEGER NOT NULL,
    imported_at  INTEGER NOT NULL             -- Unix ms
);
