-- Imports that never damage what is stored.

-- Spans whose beats are stored but whose analysis (ticks, states, episodes) is not yet:
-- written in the same transaction as the beats, deleted once the analysis is stored. A
-- process killed in between leaves the row, and the next import / analyze --db / run /
-- serve / demo finishes the analysis (signals.batch.analysis_pending_finish).
CREATE TABLE analysis_pending (
    id          INTEGER PRIMARY KEY,
    from_ms     INTEGER NOT NULL,            -- span to analyse (inclusive), Unix ms
    to_ms       INTEGER NOT NULL,            -- (inclusive)
    reason      TEXT NOT NULL,               -- what stored the beats: 'import <file>', 'demo sample day' …
    created_ms  INTEGER NOT NULL,
    CHECK (to_ms >= from_ms)
);

-- From this version on, import_file.sha256 is the digest of the beats as laid out
-- (epoch_ms, rr_ms), not of the file's bytes: the same beats with CRLF, a trailing newline
-- or in another format are the same import. rr_sha256 digests the RR values alone, to
-- recognise a file without times imported again (its placement follows its mtime).
ALTER TABLE import_file ADD COLUMN rr_sha256 TEXT;
CREATE INDEX import_file_rr ON import_file(rr_sha256);
