"""Naming moments: labels, and tags keyed by time so they survive re-analysis.

A tag is a span of time with a label and an optional note. Tags placed on an episode
(``origin='episode'``) are stored with the episode's span, not its id: ``attune analyze``
replaces a span's episodes (new ids, slightly different edges), and the tag re-attaches
to whichever new episode overlaps it enough. A tag that meets no episode any more is
listed with the moments (spans the user marked by hand), so nothing the user said is lost.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from attune.db import db_transaction
from attune.timeutil import now_ms

# "I was moving" (issue 8): the one-tap answer for an episode that was movement, not
# feeling (most straps give no motion). It is built in like waiting and bracing, and an
# episode named so is set aside: left out of the regulation statistics (counts by label,
# time of day, time to settle, minutes activated), shown on the chart as set aside, and
# back in them as soon as the name is cleared.
MOVING_LABEL = "i was moving"
SET_ASIDE_LABELS = frozenset({MOVING_LABEL})
BUILTIN_LABELS = ("waiting", "bracing", MOVING_LABEL)
LABEL_MAX_CHARS = 32
LABELS_MAX_OWN = 50  # the user's own labels: a list to choose from, not a free-text field
NOTE_MAX_CHARS = 1000
# an episode takes a tag when their overlap covers this share of the shorter of the two
ATTACH_MIN_OVERLAP = 0.3

_SPACES = re.compile(r"\s+")


class TagError(ValueError):
    """Input that cannot become a label or a tag (reported as 422 with this message)."""


def label_normalise(text: str) -> str:
    """Trimmed, single-spaced, case-folded, NFC; letters, digits, spaces and ``-'&/`` only."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()
    if not name:
        raise TagError("a label needs at least one letter")
    if len(name) > LABEL_MAX_CHARS:
        raise TagError(f"a label is at most {LABEL_MAX_CHARS} characters")
    for ch in name:
        if not (ch.isalnum() or ch in " -'&/"):
            raise TagError(f"a label may hold letters, digits, spaces and - ' & / only (not {ch!r})")
    return name


def note_clean(text: str | None) -> str | None:
    if text is None:
        return None
    note = "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    if len(note) > NOTE_MAX_CHARS:
        raise TagError(f"a note is at most {NOTE_MAX_CHARS} characters")
    return note or None


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    origin: str  # 'episode' | 'moment'
    start_epoch_ms: int
    end_epoch_ms: int
    label: str
    note: str | None
    updated_epoch_ms: int

    def overlap_ms(self, start_ms: int, end_ms: int) -> int:
        return max(0, min(self.end_epoch_ms, end_ms) - max(self.start_epoch_ms, start_ms))


@dataclass(frozen=True, slots=True)
class LabelInfo:
    id: int
    name: str
    builtin: bool
    uses: int


def label_sets_aside(label: str | None) -> bool:
    """Whether a (normalised) label takes its episode out of the regulation statistics."""
    return label in SET_ASIDE_LABELS


# -- labels -----------------------------------------------------------------------------------
def label_id_ensure(conn: sqlite3.Connection, name: str) -> int:
    """The id of a (normalised) label, creating it on first use (within the cap). Built-ins
    the schema does not seed (``i was moving``) are created built in, outside the cap."""
    builtin = name in BUILTIN_LABELS
    row = conn.execute("SELECT id, builtin FROM label WHERE name=?", (name,)).fetchone()
    if row is not None:
        if builtin and not row[1]:  # a label of one's own with that name becomes the built-in
            conn.execute("UPDATE label SET builtin=1 WHERE id=?", (row[0],))
        return row[0]
    if builtin:
        return conn.execute("INSERT INTO label(name, builtin, created_epoch_ms) VALUES (?,1,?)",
                            (name, now_ms())).lastrowid
    own = conn.execute("SELECT count(*) FROM label WHERE builtin=0").fetchone()[0]
    if own >= LABELS_MAX_OWN:
        raise TagError(f"at most {LABELS_MAX_OWN} labels of your own: rename or delete one first")
    return conn.execute("INSERT INTO label(name, created_epoch_ms) VALUES (?,?)", (name, now_ms())).lastrowid


def labels_list(conn: sqlite3.Connection) -> list[LabelInfo]:
    """Built-ins first, then the user's own by how often they are used."""
    rows = conn.execute(
        "SELECT l.id, l.name, l.builtin, count(t.id) AS uses FROM label l LEFT JOIN tag t ON t.label_id=l.id"
        " GROUP BY l.id ORDER BY l.builtin DESC, uses DESC, l.name"
    ).fetchall()
    return [LabelInfo(r["id"], r["name"], bool(r["builtin"]), r["uses"]) for r in rows]


def label_get(conn: sqlite3.Connection, label_id: int) -> LabelInfo | None:
    row = conn.execute(
        "SELECT l.id, l.name, l.builtin, (SELECT count(*) FROM tag t WHERE t.label_id=l.id) AS uses"
        " FROM label l WHERE l.id=?", (label_id,)).fetchone()
    return LabelInfo(row["id"], row["name"], bool(row["builtin"]), row["uses"]) if row else None


class LabelLocked(TagError):
    """A built-in label, or one still in use, cannot be changed that way (409)."""


def _label_own(conn: sqlite3.Connection, label_id: int, verb: str) -> LabelInfo | None:
    """The label, if it is one of the user's own (built-ins are refused); None if absent."""
    current = label_get(conn, label_id)
    if current is not None and current.builtin:
        raise LabelLocked(f"{current.name!r} is built in: it cannot be {verb}")
    return current


def label_rename(conn: sqlite3.Connection, label_id: int, new_name: str) -> LabelInfo | None:
    """Rename one of the user's labels; every tag with it follows. Renaming to a label that
    exists merges the two (a typo fixed). None if there is no such label."""
    name = label_normalise(new_name)
    with db_transaction(conn):
        current = _label_own(conn, label_id, "renamed")
        if current is None:
            return None
        other = conn.execute("SELECT id FROM label WHERE name=? AND id!=?", (name, label_id)).fetchone()
        if other is None and name in BUILTIN_LABELS:  # renamed to a built-in: merged into it
            other = (label_id_ensure(conn, name),)
        if other is None:
            conn.execute("UPDATE label SET name=? WHERE id=?", (name, label_id))
            target = label_id
        else:  # merge into the existing label
            target = other[0]
            t = now_ms()
            conn.execute("UPDATE tag SET label_id=?, updated_epoch_ms=? WHERE label_id=?", (target, t, label_id))
            conn.execute("DELETE FROM label WHERE id=?", (label_id,))
    return label_get(conn, target)


def label_delete(conn: sqlite3.Connection, label_id: int) -> bool:
    """Delete one of the user's labels that no tag uses; False if there is no such label.
    A label still in use is refused, so no named moment loses its name."""
    with db_transaction(conn):
        current = _label_own(conn, label_id, "deleted")
        if current is None:
            return False
        if current.uses:
            raise LabelLocked(f"{current.name!r} names {current.uses} moment(s): rename it to another "
                              "label to merge them, or rename those moments first")
        conn.execute("DELETE FROM label WHERE id=?", (label_id,))
    return True


# -- tags -------------------------------------------------------------------------------------
_TAG_SELECT = (
    "SELECT t.id, t.origin, t.start_epoch_ms, t.end_epoch_ms, l.name AS label, t.note,"
    " t.updated_epoch_ms FROM tag t JOIN label l ON l.id=t.label_id"
)


def _tag(row: sqlite3.Row) -> Tag:
    return Tag(row["id"], row["origin"], row["start_epoch_ms"], row["end_epoch_ms"], row["label"],
               row["note"], row["updated_epoch_ms"])


def tags_overlapping(conn: sqlite3.Connection, from_ms: int | None, to_ms: int | None) -> list[Tag]:
    """Tags whose span meets ``[from_ms, to_ms)``, in time order."""
    sql, args = _TAG_SELECT + " WHERE 1=1", []
    if to_ms is not None:
        sql += " AND t.start_epoch_ms < ?"
        args.append(to_ms)
    if from_ms is not None:
        sql += " AND t.end_epoch_ms > ?"
        args.append(from_ms)
    return [_tag(r) for r in conn.execute(sql + " ORDER BY t.start_epoch_ms, t.id", args)]


def tag_get(conn: sqlite3.Connection, tag_id: int) -> Tag | None:
    row = conn.execute(_TAG_SELECT + " WHERE t.id=?", (tag_id,)).fetchone()
    return _tag(row) if row else None


def tag_attach(start_ms: int, end_ms: int, tags: Sequence[Tag]) -> Tag | None:
    """The episode-origin tag that overlaps ``[start_ms, end_ms)`` most, if enough."""
    best, best_ms = None, 0
    for tag in tags:
        if tag.origin != "episode":
            continue
        ov = tag.overlap_ms(start_ms, end_ms)
        shorter = max(1, min(end_ms - start_ms, tag.end_epoch_ms - tag.start_epoch_ms))
        if ov >= ATTACH_MIN_OVERLAP * shorter and (ov > best_ms or (ov == best_ms and best and tag.updated_epoch_ms > best.updated_epoch_ms)):
            best, best_ms = tag, ov
    return best


def tags_for_episodes(
    spans: Sequence[tuple[int, int, int]], tags: Sequence[Tag]
) -> tuple[dict[int, Tag], list[Tag]]:
    """Attach tags to episodes given as ``(id, start_ms, end_ms)``.

    Returns the tag of each tagged episode, and the tags that belong to no episode (the
    user's moments, and episode tags whose episode re-analysis no longer finds).
    """
    attached: dict[int, Tag] = {}
    for episode_id, start, end in spans:
        tag = tag_attach(start, end, tags)
        if tag is not None:
            attached[episode_id] = tag
    used = {t.id for t in attached.values()}
    loose = [t for t in tags if t.id not in used]
    return attached, loose


def episode_tag_set(
    conn: sqlite3.Connection, start_ms: int, end_ms: int, label: str, note: str | None
) -> Tag:
    """Name an episode: update the tag attached to its span, or create one.

    The tag takes the episode's current span, so it follows the latest analysis. Runs in
    one IMMEDIATE transaction: two phones tagging at once cannot create two tags.
    """
    name = label_normalise(label)
    note = note_clean(note)
    with db_transaction(conn):
        current = tag_attach(start_ms, end_ms, tags_overlapping(conn, start_ms, end_ms))
        label_id = label_id_ensure(conn, name)
        t = now_ms()
        if current is None:
            tag_id = conn.execute(
                "INSERT INTO tag(origin, start_epoch_ms, end_epoch_ms, label_id, note, created_epoch_ms,"
                " updated_epoch_ms) VALUES ('episode',?,?,?,?,?,?)",
                (start_ms, end_ms, label_id, note, t, t),
            ).lastrowid
        else:
            tag_id = current.id
            conn.execute(
                "UPDATE tag SET start_epoch_ms=?, end_epoch_ms=?, label_id=?, note=?, updated_epoch_ms=?"
                " WHERE id=?",
                (start_ms, end_ms, label_id, note, t, tag_id),
            )
    tag = tag_get(conn, tag_id)
    assert tag is not None
    return tag


def episode_tag_clear(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> bool:
    """Remove the tag attached to an episode's span; True if there was one."""
    with db_transaction(conn):
        current = tag_attach(start_ms, end_ms, tags_overlapping(conn, start_ms, end_ms))
        if current is not None:
            conn.execute("DELETE FROM tag WHERE id=?", (current.id,))
    return current is not None


def moment_add(
    conn: sqlite3.Connection, start_ms: int, end_ms: int, label: str, note: str | None
) -> Tag:
    """Mark a span the detector did not call an episode."""
    if end_ms <= start_ms:
        raise TagError("a moment must end after it starts")
    if end_ms - start_ms > 24 * 3600 * 1000:
        raise TagError("a moment is at most 24 hours long")
    name = label_normalise(label)
    note = note_clean(note)
    with db_transaction(conn):
        label_id = label_id_ensure(conn, name)
        t = now_ms()
        tag_id = conn.execute(
            "INSERT INTO tag(origin, start_epoch_ms, end_epoch_ms, label_id, note, created_epoch_ms,"
            " updated_epoch_ms) VALUES ('moment',?,?,?,?,?,?)",
            (start_ms, end_ms, label_id, note, t, t),
        ).lastrowid
    tag = tag_get(conn, tag_id)
    assert tag is not None
    return tag


def moment_update(conn: sqlite3.Connection, tag_id: int, label: str, note: str | None) -> Tag | None:
    """New label or note for a tag listed as a moment (its span stays)."""
    name = label_normalise(label)
    note = note_clean(note)
    with db_transaction(conn):
        if conn.execute("SELECT 1 FROM tag WHERE id=?", (tag_id,)).fetchone() is None:
            return None
        label_id = label_id_ensure(conn, name)
        changed = conn.execute(
            "UPDATE tag SET label_id=?, note=?, updated_epoch_ms=? WHERE id=?",
            (label_id, note, now_ms(), tag_id),
        ).rowcount
    return tag_get(conn, tag_id) if changed else None


def tag_delete(conn: sqlite3.Connection, tag_id: int) -> bool:
    return conn.execute("DELETE FROM tag WHERE id=?", (tag_id,)).rowcount == 1
