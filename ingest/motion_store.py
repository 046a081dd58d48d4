"""The motion store: the one module that writes and reads ``motion_packet``, ``acc_frame``
and ``cadence_sample`` rows (migration 0005).

Accelerometer samples are kept a frame at a time, ``n`` samples evenly spaced from
``first_ms`` to ``last_ms``; the ``xyz_mg`` triples (int16, mg) are stored by ``codec``
(migration 0006): a live frame whose raw PMD notification decodes to exactly its samples
stores none (``codec`` 1: :func:`acc_read` decodes the kept ``motion_packet``), any other
frame stores them zlib-compressed (2, shuffled bytes: every low byte, then every high
byte) or, when that is not smaller, as int16 little-endian (0). Without this a day at 25 Hz
cost 13 MB of samples on top of the raw notifications (28 MB a day live, over the 20 MB
goal; ``bench/bench_motion.py`` prints what it costs now). A PMD frame is evenly spaced by
definition; a file is cut into evenly spaced runs (:func:`acc_series_store`). Functions never commit: they run inside the caller's
transaction, like :mod:`attune.ingest.store`. Spans are half-open, ``[from_ms, to_ms)``.
"""

from __future__ import annotations

import sqlite3
import zlib

import numpy as np

from attune.ingest.events import AccSamples, MotionNotification
from attune.ingest.pmd import PMD_FRAME_HEADER_BYTES, AccFrame, PmdMeasurementType, pmd_acc_parse, pmd_delta_decode

MAX_FRAME_MS = 60_000  # a stored run of an imported file spans at most this
CODEC_INT16, CODEC_PACKET, CODEC_ZLIB = 0, 1, 2
_ZLIB_LEVEL = 6  # level 9 gains < 0.1 % on real chest motion at twice the time
GAP_FACTOR = 1.5  # a sample interval above GAP_FACTOR x the nominal one starts a new run


# -- writing --------------------------------------------------------------------------------------
def motion_packet_insert(
    conn: sqlite3.Connection, device_id: int | None, n: MotionNotification, error: str | None = None
) -> int:
    """Keep one PMD/RSC notification byte for byte with its arrival stamps; ``error`` (why
    it could not be parsed) marks it status 1. Returns its id."""
    cur = conn.execute(
        "INSERT INTO motion_packet(device_id, kind, arrival_mono_ns, arrival_epoch_ms, payload, status, error)"
        " VALUES (?,?,?,?,?,?,?)",
        (device_id, str(n.kind), n.arrival_mono_ns, n.arrival_wall_ns // 1_000_000, n.payload,
         int(error is not None), error),
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]


def acc_frame_insert(
    conn: sqlite3.Connection,
    first_ms: int,
    last_ms: int,
    xyz_mg: np.ndarray,
    rate_hz: float,
    *,
    device_id: int | None,
    packet_id: int | None = None,
    import_id: int | None = None,
) -> int:
    """Store one evenly spaced frame: ``xyz_mg`` (n, 3) in mg incl. gravity (clipped to
    int16), its first and last sample times (Unix ms) and nominal ``rate_hz``. With a
    ``packet_id`` whose PMD payload decodes to exactly these samples, they are not stored
    again (read back from the packet). Returns its id."""
    xyz = _int16(xyz_mg)
    codec, blob = CODEC_INT16, b""
    if packet_id is not None:
        row = conn.execute("SELECT payload FROM motion_packet WHERE id = ?", (int(packet_id),)).fetchone()
        decoded = None if row is None else _packet_xyz(bytes(row[0]), rate_hz)
        if decoded is not None and decoded.shape == xyz.shape and np.array_equal(decoded, xyz):
            codec = CODEC_PACKET
    if codec != CODEC_PACKET:
        codec, blob = _xyz_encode(xyz)
    cur = conn.execute(
        "INSERT INTO acc_frame(device_id, packet_id, import_id, first_ms, last_ms, n, rate_hz, codec, xyz_mg)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (device_id, packet_id, import_id, int(first_ms), int(last_ms), len(xyz), float(rate_hz), codec, blob),
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]


def _int16(xyz_mg: np.ndarray) -> np.ndarray:
    xyz = np.clip(np.rint(np.asarray(xyz_mg, dtype=float)), -32768, 32767).astype("<i2")
    if xyz.ndim != 2 or xyz.shape[1] != 3 or not len(xyz):
        raise ValueError("xyz_mg must be a non-empty (n, 3) array")
    return xyz


def _xyz_encode(xyz: np.ndarray) -> tuple[int, bytes]:
    """(codec, blob) of int16 samples: zlib of the shuffled bytes when smaller, else raw."""
    raw = np.ascontiguousarray(xyz, dtype="<i2").tobytes()
    packed = zlib.compress(np.frombuffer(raw, np.uint8).reshape(-1, 2).T.tobytes(), _ZLIB_LEVEL)
    return (CODEC_ZLIB, packed) if len(packed) < len(raw) else (CODEC_INT16, raw)


def _packet_xyz(payload: bytes, rate_hz: float) -> np.ndarray | None:
    """The samples of a raw PMD ACC frame as int16 (None when it does not decode or does not
    fit). The H10's frames (int16, raw or delta-compressed in mg) are decoded directly,
    without the per-sample times :func:`pmd_acc_parse` also works out; others through it."""
    if len(payload) > PMD_FRAME_HEADER_BYTES and payload[0] & 0x3F == PmdMeasurementType.ACC:
        frame_type, body = payload[9], payload[PMD_FRAME_HEADER_BYTES:]
        if frame_type == 1 and len(body) % 6 == 0:  # uncompressed int16
            return np.frombuffer(body, dtype="<i2").reshape(-1, 3).astype(np.int16)
        if frame_type == 0x81:  # delta-compressed, 16-bit reference, mg (factor 1 when it matches)
            values = pmd_delta_decode(body)
            if isinstance(values, np.ndarray) and values.min() >= -32768 and values.max() <= 32767:
                return values.astype(np.int16)
            return None
    frame = pmd_acc_parse(payload, sample_rate_hz=rate_hz)
    if not isinstance(frame, AccFrame) or not len(frame.acc_mg):
        return None
    if frame.acc_mg.min() < -32768 or frame.acc_mg.max() > 32767:
        return None
    return frame.acc_mg.astype(np.int16)


def acc_runs(epoch_ms: np.ndarray, rate_hz: float, max_frame_ms: int = MAX_FRAME_MS) -> list[tuple[int, int]]:
    """Split sample times (increasing, Unix ms) into runs ``[i, j)`` without a gap above
    :data:`GAP_FACTOR` nominal intervals and no longer than ``max_frame_ms``."""
    n = len(epoch_ms)
    if n == 0:
        return []
    gap_ms = GAP_FACTOR * 1000.0 / rate_hz
    cuts = (np.flatnonzero(np.diff(epoch_ms) > gap_ms) + 1).tolist()
    runs: list[tuple[int, int]] = []
    for i, j in zip([0, *cuts], [*cuts, n], strict=True):
        start = i
        while start < j:  # cut long runs on time, vectorised per run
            stop = int(np.searchsorted(epoch_ms[start:j], epoch_ms[start] + max_frame_ms, "left")) + start
            stop = max(stop, start + 1)
            runs.append((start, stop))
            start = stop
    return runs


def acc_series_store(
    conn: sqlite3.Connection,
    epoch_ms: np.ndarray,
    xyz_mg: np.ndarray,
    rate_hz: float,
    *,
    device_id: int | None,
    import_id: int | None = None,
) -> int:
    """Store a whole accelerometer series (an import, a simulated day) as evenly spaced
    frames (see :func:`acc_runs`); returns the number of frames."""
    epoch_ms = np.asarray(epoch_ms, dtype=np.int64)
    runs = acc_runs(epoch_ms, rate_hz)
    xyz = _int16(xyz_mg) if len(epoch_ms) else np.empty((0, 3), "<i2")
    rows = []
    for i, j in runs:
        codec, blob = _xyz_encode(xyz[i:j])
        rows.append((device_id, None, import_id, int(epoch_ms[i]), int(epoch_ms[j - 1]), j - i, float(rate_hz),
                     codec, blob))
    conn.executemany(
        "INSERT INTO acc_frame(device_id, packet_id, import_id, first_ms, last_ms, n, rate_hz, codec, xyz_mg)"
        " VALUES (?,?,?,?,?,?,?,?,?)", rows)
    return len(runs)


def acc_span_clear(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> int:
    """Delete the stored accelerometer samples of ``[from_ms, to_ms)`` (no commit): frames
    inside go, frames across an edge are cut there (the part outside is stored again with
    the same device, packet and import). Raw ``motion_packet`` rows are kept. Returns the
    number of samples deleted."""
    rows = conn.execute(
        "SELECT f.id, f.device_id, f.packet_id, f.import_id, f.first_ms, f.last_ms, f.n, f.rate_hz, f.codec, f.xyz_mg,"
        " p.payload FROM acc_frame f LEFT JOIN motion_packet p ON f.codec = 1 AND p.id = f.packet_id"
        " WHERE f.last_ms >= ? AND f.first_ms < ?", (int(from_ms), int(to_ms))).fetchall()
    deleted = 0
    for fid, device_id, packet_id, import_id, first_ms, last_ms, n, rate_hz, codec, blob, payload in rows:
        t = _frame_times(first_ms, last_ms, n)
        xyz = _frame_xyz(codec, blob, payload, n, rate_hz)
        inside = (t >= from_ms) & (t < to_ms)
        conn.execute("DELETE FROM acc_frame WHERE id = ?", (fid,))
        deleted += int(inside.sum())
        for keep in (t < from_ms, t >= to_ms):
            if keep.any():
                acc_frame_insert(conn, int(t[keep][0]), int(t[keep][-1]), xyz[keep], rate_hz,
                                 device_id=device_id, packet_id=packet_id, import_id=import_id)
    return deleted


def acc_sources(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> list[tuple[str, int, int, int]]:
    """Who stored accelerometer frames touching ``[from_ms, to_ms)``: ``(source, samples,
    first_ms, last_ms)`` per import file (``source`` its path) or recording device
    (``recorded <name>``), in time order; ``samples`` counts whole frames."""
    rows = conn.execute(
        "SELECT coalesce(i.path, 'recorded ' || coalesce(d.name, d.address, '?')) AS source, sum(f.n),"
        " min(f.first_ms), max(f.last_ms) FROM acc_frame f LEFT JOIN import_file i ON i.id = f.import_id"
        " LEFT JOIN device d ON d.id = f.device_id WHERE f.last_ms >= ? AND f.first_ms < ?"
        " GROUP BY f.import_id, f.device_id ORDER BY 3", (int(from_ms), int(to_ms))).fetchall()
    return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


def acc_imports_orphaned_delete(conn: sqlite3.Connection, formats: tuple[str, ...]) -> int:
    """Delete ``import_file`` rows of accelerometer ``formats`` left without any frame (after
    a replace), so the same file can be imported again. Returns how many."""
    marks = ",".join("?" for _ in formats)
    return conn.execute(
        f"DELETE FROM import_file WHERE format IN ({marks})"
        " AND NOT EXISTS (SELECT 1 FROM acc_frame f WHERE f.import_id = import_file.id)", formats).rowcount


def cadence_insert(
    conn: sqlite3.Connection, epoch_ms: int, cadence_spm: float, *, device_id: int | None, packet_id: int | None
) -> None:
    """Store one cadence reading (steps/min at ``epoch_ms``, Unix ms)."""
    conn.execute("INSERT INTO cadence_sample(epoch_ms, device_id, packet_id, cadence_spm) VALUES (?,?,?,?)",
                 (int(epoch_ms), device_id, packet_id, float(cadence_spm)))


# -- reading -----------------------------------------------------------------------------------------
def _frame_times(first_ms: int, last_ms: int, n: int) -> np.ndarray:
    """The ``n`` evenly spaced sample times (int64 Unix ms) of a frame."""
    return _frames_times(np.array([first_ms]), np.array([last_ms]), np.array([n]))


def _frames_times(first_ms: np.ndarray, last_ms: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The sample times of many frames, concatenated: for each, ``n`` evenly spaced from
    ``first_ms`` to ``last_ms`` rounded to the ms (numpy ``linspace``'s arithmetic: start +
    k x step, the last exactly ``last_ms``), computed for all frames at once."""
    n = np.asarray(n, dtype=np.int64)
    first = np.asarray(first_ms, dtype=np.float64)
    step = (np.asarray(last_ms, dtype=np.float64) - first) / np.maximum(n - 1, 1)
    starts = np.cumsum(n) - n
    k = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(starts, n)
    t = np.repeat(first, n) + k * np.repeat(step, n)
    ends = starts + n - 1
    t[ends[n > 1]] = np.asarray(last_ms, dtype=np.float64)[n > 1]
    return np.rint(t).astype(np.int64)


def _frame_xyz(codec: int, blob: bytes, payload: bytes | None, n: int, rate_hz: float) -> np.ndarray:
    """A frame's stored samples as int16 (n, 3), whatever its codec."""
    if codec == CODEC_ZLIB:
        blob = np.frombuffer(zlib.decompress(blob), np.uint8).reshape(2, -1).T.tobytes()
    elif codec == CODEC_PACKET:
        xyz = None if payload is None else _packet_xyz(bytes(payload), rate_hz)
        if xyz is None or len(xyz) != n:  # checked when written: the raw packet was altered since
            raise sqlite3.DatabaseError(f"acc_frame of {n} samples: its motion_packet no longer holds them")
        return xyz
    return np.frombuffer(blob, dtype="<i2").reshape(n, 3).astype(np.int16)


def _packets_xyz(payloads: list[bytes | None]) -> list[np.ndarray | None]:
    """The samples of many raw PMD ACC frames at once: single-block delta-compressed int16
    frames (what an H10 sends) are decoded together, grouped by block width and length,
    which is ~50x faster than one :func:`pmd_delta_decode` call each; every other frame
    gives None (the caller decodes it alone). Same arithmetic as :func:`pmd_delta_decode`."""
    out: list[np.ndarray | None] = [None] * len(payloads)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, payload in enumerate(payloads):
        if payload is None or len(payload) < PMD_FRAME_HEADER_BYTES + 8:
            continue
        if payload[0] & 0x3F != PmdMeasurementType.ACC or payload[9] != 0x81:
            continue
        width, count = payload[16], payload[17]
        if not 1 <= width <= 16 or count == 0:
            continue
        if len(payload) != PMD_FRAME_HEADER_BYTES + 8 + (width * count * 3 + 7) // 8:
            continue  # more than one block, or cut short: decoded alone
        groups.setdefault((width, count), []).append(i)
    for (width, count), idx in groups.items():
        body = np.frombuffer(b"".join(payloads[i][PMD_FRAME_HEADER_BYTES:] for i in idx),  # type: ignore[index]
                             np.uint8).reshape(len(idx), -1)
        ref = body[:, :6].copy().view("<i2").astype(np.int32)  # (g, 3); int32 holds 255 deltas of 16 bits
        nbits = width * count * 3
        bits = np.unpackbits(body[:, 8:], axis=1, bitorder="little")[:, :nbits].reshape(-1, width)
        pad = 8 if width <= 8 else 16  # each delta's bits padded to a byte or two, packed back
        wide = np.zeros((bits.shape[0], pad), np.uint8)
        wide[:, :width] = bits
        raw = np.packbits(wide, axis=1, bitorder="little").view("<u1" if pad == 8 else "<u2").reshape(-1)
        raw = raw.astype(np.int32)
        deltas = (raw - (((raw >> (width - 1)) & 1) << width)).reshape(len(idx), count, 3)  # sign-extend
        samples = np.concatenate([ref[:, None, :], ref[:, None, :] + np.cumsum(deltas, axis=1)], axis=1)
        ok = (samples.min(axis=(1, 2)) >= -32768) & (samples.max(axis=(1, 2)) <= 32767)
        samples16 = samples.astype(np.int16)
        for k, i in enumerate(idx):
            if ok[k]:
                out[i] = samples16[k]
    return out


def acc_read(conn: sqlite3.Connection, from_ms: int | None = None, to_ms: int | None = None) -> AccSamples:
    """Stored accelerometer samples with ``from_ms <= epoch_ms < to_ms`` (a missing bound is
    open), in time order. ``rate_hz`` is the most common nominal rate of the frames read
    (0 when there are none)."""
    lo = -(2**62) if from_ms is None else int(from_ms)
    hi = 2**62 if to_ms is None else int(to_ms)
    cur = conn.execute(
        "SELECT f.first_ms, f.last_ms, f.n, f.rate_hz, f.codec, f.xyz_mg, p.payload FROM acc_frame f"
        " LEFT JOIN motion_packet p ON f.codec = 1 AND p.id = f.packet_id"
        " WHERE f.last_ms >= ? AND f.first_ms < ? ORDER BY f.first_ms, f.id", (lo, hi))
    cur.row_factory = None
    rows = cur.fetchall()
    in_packet = [i for i, r in enumerate(rows) if r[4] == CODEC_PACKET]
    decoded = dict(zip(in_packet, _packets_xyz([rows[i][6] for i in in_packet]), strict=True))
    blocks: list[np.ndarray] = []
    rates: dict[float, int] = {}
    for i, (_, _, n, rate_hz, codec, blob, payload) in enumerate(rows):
        xyz = decoded.get(i)
        blocks.append(xyz if xyz is not None and len(xyz) == n else _frame_xyz(codec, blob, payload, n, rate_hz))
        rates[rate_hz] = rates.get(rate_hz, 0) + n
    if not rows:
        return AccSamples.empty()
    t = _frames_times(*(np.array([r[c] for r in rows]) for c in range(3)))
    xyz = np.concatenate(blocks)
    keep = (t >= lo) & (t < hi)
    if not keep.all():
        t, xyz = t[keep], xyz[keep]
    order = np.argsort(t, kind="stable")  # frames may overlap by a sample at their joins
    return AccSamples(t[order], xyz[order], max(rates, key=rates.__getitem__))


def acc_span(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """First and last stored accelerometer sample times (Unix ms), or None."""
    row = conn.execute("SELECT min(first_ms), max(last_ms) FROM acc_frame").fetchone()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def cadence_read(
    conn: sqlite3.Connection, from_ms: int | None = None, to_ms: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Stored cadence readings in ``[from_ms, to_ms)``: (epoch_ms int64, cadence_spm float)."""
    lo = -(2**62) if from_ms is None else int(from_ms)
    hi = 2**62 if to_ms is None else int(to_ms)
    rows = conn.execute("SELECT epoch_ms, cadence_spm FROM cadence_sample WHERE epoch_ms >= ? AND epoch_ms < ?"
                        " ORDER BY epoch_ms", (lo, hi)).fetchall()
    return (np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], float))
