-- (issue 8, h8store; assigned number 0008: renumber on merge. The loader refuses gaps and
-- this branch has no 0006/0007.)
-- acc_frame gains a codec, so that a day of motion stays small (bench/bench_motion.py):
-- a live frame's samples are read back from the raw PMD notification they arrived in
-- (kept in motion_packet anyway) instead of being stored twice, and an imported run is
-- stored zlib-compressed. SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE acc_frame_new (
    id          INTEGER PRIMARY KEY,
    device_id   INTEGER REFERENCES device(id),
    packet_id   INTEGER REFERENCES motion_packet(id),  -- NULL for imports
    import_id   INTEGER REFERENCES import_file(id),    -- NULL for live
    first_ms    INTEGER NOT NULL,
    last_ms     INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    rate_hz     REAL NOT NULL,
    -- 0: xyz_mg is n x (x, y, z) int16 little-endian, mg incl. gravity (6 n bytes)
    -- 1: the samples are those of the PMD ACC frame in motion_packet.payload (xyz_mg empty;
    --    only written after decoding that payload gave exactly these samples)
    -- 2: xyz_mg is zlib of the codec-0 bytes shuffled: every sample's low byte, then every high byte
    codec       INTEGER NOT NULL DEFAULT 0,
    xyz_mg      BLOB NOT NULL,
    CHECK (n > 0 AND last_ms >= first_ms),
    CHECK ((codec = 0 AND length(xyz_mg) = 6 * n)
           OR (codec = 1 AND packet_id IS NOT NULL AND length(xyz_mg) = 0)
           OR (codec = 2 AND length(xyz_mg) > 0))
);
INSERT INTO acc_frame_new(id, device_id, packet_id, import_id, first_ms, last_ms, n, rate_hz, codec, xyz_mg)
    SELECT id, device_id, packet_id, import_id, first_ms, last_ms, n, rate_hz, 0, xyz_mg FROM acc_frame;
DROP TABLE acc_frame;
ALTER TABLE acc_frame_new RENAME TO acc_frame;
CREATE INDEX acc_frame_first ON acc_frame(first_ms);
-- imports are found by their frames when a replace leaves an import without any
CREATE INDEX acc_frame_import ON acc_frame(import_id) WHERE import_id IS NOT NULL;
