-- API: the names a user gives to moments, and who may use the web app.

-- Labels offered for naming a moment: 'waiting' and 'bracing' built in, the user's own
-- created on first use. Names are case-normalised (trimmed, single spaces, lower case).
CREATE TABLE label (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    builtin           INTEGER NOT NULL DEFAULT 0,
    created_epoch_ms  INTEGER NOT NULL
);
INSERT INTO label(name, builtin, created_epoch_ms) VALUES ('waiting', 1, 0), ('bracing', 1, 0);

-- A tag names a span of time. It is keyed by time, not by episode id, because
-- `attune analyze` replaces a span's episodes: an episode shows the 'episode' tag that
-- overlaps it most, so a tag survives re-analysis; one that no longer meets any episode
-- is shown as a moment, never lost. origin 'moment' marks a span the detector missed.
CREATE TABLE tag (
    id                INTEGER PRIMARY KEY,
    origin            TEXT NOT NULL CHECK (origin IN ('episode', 'moment')),
    start_epoch_ms    INTEGER NOT NULL,
    end_epoch_ms      INTEGER NOT NULL,
    label_id          INTEGER NOT NULL REFERENCES label(id),
    note              TEXT,
    created_epoch_ms  INTEGER NOT NULL,
    updated_epoch_ms  INTEGER NOT NULL,
    CHECK (end_epoch_ms > start_epoch_ms)
);
CREATE INDEX tag_start ON tag(start_epoch_ms);

-- One-time pairing codes from `attune pair`; only a SHA-256 digest is kept.
CREATE TABLE pairing_code (
    id                INTEGER PRIMARY KEY,
    code_sha256       TEXT NOT NULL UNIQUE,
    created_epoch_ms  INTEGER NOT NULL,
    expires_epoch_ms  INTEGER NOT NULL,
    used_epoch_ms     INTEGER
);

-- Paired phones (session cookies) and scripts (bearer tokens); digests only.
CREATE TABLE auth_token (
    id                INTEGER PRIMARY KEY,
    token_sha256      TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('session', 'bearer')),
    client            TEXT,
    created_epoch_ms  INTEGER NOT NULL,
    revoked_epoch_ms  INTEGER
);
