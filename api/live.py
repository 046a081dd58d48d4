"""Live events for ``GET /api/live``: a small in-process hub with replay.

Producers (the recorder listener and live pipeline in ``attune run``/``demo``, or a
database tailer in ``attune serve``) call :meth:`LiveHub.publish` from the event loop;
each SSE client has its own bounded queue. Every event has an id ``<run>-<seq>``; a client
that reconnects with ``Last-Event-ID`` gets what it missed from a ring buffer, or a
``reset`` event (refetch status and timeline) when the gap is too old or the server has
restarted since. A client too slow to keep up is dropped and simply reconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveEvent:
    seq: int
    kind: str  # beats | tick | state | episode | link | reset
    data_json: str  # serialised once, sent to every client as is

    def event_id(self, run_id: str) -> str:
        return f"{run_id}-{self.seq}"


class LiveHub:
    def __init__(self, replay_size: int = 4096, client_queue_size: int = 1024) -> None:
        self.run_id = secrets.token_hex(4)
        self._seq = 0
        self._replay: deque[LiveEvent] = deque(maxlen=replay_size)
        # each client's queue, with the digest of the token it came with (None: local mode)
        self._clients: dict[asyncio.Queue[LiveEvent | None], str | None] = {}
        self._client_queue_size = client_queue_size

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, kind: str, data: Any) -> LiveEvent:
        """Send an event to every connected client (non-blocking, event-loop thread only)."""
        self._seq += 1
        event = LiveEvent(self._seq, kind, json.dumps(data, separators=(",", ":")))
        self._replay.append(event)
        for q in list(self._clients):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                # never let one stalled phone hold memory or slow the pipeline
                self._clients.pop(q, None)
                _end_stream(q)
                log.info("dropped a live client that fell behind")
        return event

    def _missed_since(self, last_event_id: str | None) -> list[LiveEvent] | None:
        """Events after ``last_event_id``; None if they cannot be replayed (→ reset)."""
        if not last_event_id:
            return []
        run, _, seq_text = last_event_id.partition("-")
        if run != self.run_id or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        if seq > self._seq:
            return None
        if seq == self._seq:
            return []
        if not self._replay or self._replay[0].seq > seq + 1:
            return None
        return [e for e in self._replay if e.seq > seq]

    async def subscribe(self, last_event_id: str | None = None, *,
                        token_sha256: str | None = None) -> AsyncIterator[LiveEvent]:
        """Missed events first (or a reset), then live ones until the client goes away
        (or :meth:`end_tokens` ends the token it came with)."""
        q: asyncio.Queue[LiveEvent | None] = asyncio.Queue(self._client_queue_size)
        missed = self._missed_since(last_event_id)  # no await between this and add: no gap
        self._clients[q] = token_sha256
        try:
            if missed is None:
                yield LiveEvent(self._seq, "reset", json.dumps({"reason": "missed events"}))
            else:
                for event in missed:
                    yield event
            while True:
                event = await q.get()
                if event is None:
                    return
                yield event
        finally:
            self._clients.pop(q, None)

    def tokens(self) -> set[str]:
        """Digests of the tokens the open streams came with."""
        return {t for t in self._clients.values() if t is not None}

    def end_tokens(self, token_sha256s: set[str]) -> int:
        """End every stream opened with one of these tokens (revoked); how many ended."""
        ended = [q for q, t in self._clients.items() if t in token_sha256s]
        for q in ended:
            del self._clients[q]
            _end_stream(q)
        return len(ended)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for q in list(self._clients):
            _end_stream(q)
        self._clients.clear()


def _end_stream(q: asyncio.Queue[LiveEvent | None]) -> None:
    """Empty a client's queue and leave only the end marker (it reconnects and replays)."""
    while not q.empty():
        q.get_nowait()
    q.put_nowait(None)
