"""The NATS agent's outbox: batches of events in the ``EVENTS`` stream.

Each :meth:`AgentTransport.finish` (or rescue) batch is one message. Event ``i`` of the message
at stream sequence ``s`` has ``seq = s * SPAN + i``, so :meth:`trim` can delete a message once
all its events were trimmed; partly trimmed messages are remembered in memory (after a restart
their events are read again, which the master's highest-version rule makes harmless).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import nats.js.errors
from nats.js import JetStreamContext

from ...model import JobEvent
from .client import Pipeline
from .records import EventRow, decode_events, encode_events, row_of

SPAN = 1 << 16
#: Messages read at most in one round trip.
_READ_AHEAD = 32


class Outbox:
    """Append, read and trim the event batches of one agent."""

    def __init__(self, js: JetStreamContext, pipeline: Pipeline, stream: str,
                 subject: str) -> None:
        self.js = js
        self.pipeline = pipeline
        self.stream = stream
        self.subject = subject
        self._api = f"$JS.API.DIRECT.GET.{stream}"
        self._counts: dict[int, int] = {}
        self._trimmed: dict[int, set[int]] = {}

    async def append(self, events: Sequence[JobEvent]) -> None:
        """Store events durably (awaits the publish acknowledgement)."""
        await self.append_rows([row_of(event) for event in events])

    async def append_rows(self, rows: Sequence[EventRow]) -> None:
        """Store event rows (see :func:`.records.event_row`) durably."""
        for start in range(0, len(rows), SPAN // 2):
            await self.js.publish(self.subject, encode_events(list(rows[start:start + SPAN // 2])))

    async def read(self, limit: int, *, scan: int | None = None) -> list[JobEvent]:
        """The oldest ``limit`` untrimmed events (at least one message's worth)."""
        events: list[JobEvent] = []
        for stored, data in await self._messages(limit, scan):
            done = self._trimmed.get(stored, set())
            events.extend(e for e in decode_events(data, stored * SPAN) if e.seq % SPAN not in done)
        return events

    async def export(self, limit: int) -> bytes | None:
        """The oldest messages holding about ``limit`` events, as one JSON document for a
        master's :meth:`~jobmaster.abc.MasterStore.import_outbox`: ``[[first seq, [row, ...]],
        ...]`` with the rows as stored (never decoded into events here). None when a message
        of the first format is among them (the caller reads events instead)."""
        parts: list[bytes] = []
        for stored, data in await self._messages(limit, None):
            if data.lstrip()[:2] == b"[{":
                return None
            parts.append(b"[%d,%s]" % (stored * SPAN, data))
        return b"[" + b",".join(parts) + b"]"

    async def _messages(self, limit: int, scan: int | None) -> list[tuple[int, bytes]]:
        """(sequence, data) of the oldest messages holding about ``limit`` untrimmed events
        (at least one message); counts their events for :meth:`trim`."""
        found: list[tuple[int, bytes]] = []
        total = 0
        seq = 1
        per_message = 0
        while total < limit and (scan is None or len(found) < scan):
            # The first message by "next", then the ones after it by sequence, many per round
            # trip (the outbox is trimmed from the front, so they are mostly contiguous).
            window = await self._get([{"seq": seq, "next_by_subj": self.subject}])
            if not window:
                break
            if per_message:
                more = min(max((limit - total) // per_message, 1), _READ_AHEAD)
                first = window[0][0]
                window += await self._get([{"seq": first + i} for i in range(1, more + 1)])
            for stored, data in window:
                count = self._counts.get(stored)
                if count is None:
                    count = self._counts[stored] = len(json.loads(data))
                per_message = max(count, 1)
                fresh = count - len(self._trimmed.get(stored, ()))
                if found and total + fresh > limit:
                    return found
                found.append((stored, data))
                total += fresh
                seq = stored + 1
                if total >= limit:
                    return found
        return found

    async def _get(self, requests: list[dict[str, object]]) -> list[tuple[int, bytes]]:
        """Direct gets in one round trip: (sequence, data) of each message found."""
        replies = await self.pipeline.request([
            (self._api, json.dumps(request).encode(), None) for request in requests])
        found: list[tuple[int, bytes]] = []
        for reply in replies:
            sequence = None if reply.status else reply.header("Nats-Sequence")
            if sequence is not None:
                found.append((int(sequence), reply.data))
        return found

    async def trim(self, seqs: Sequence[int]) -> int:
        """Forget exactly these events; delete messages whose events are all trimmed."""
        by_message: dict[int, set[int]] = {}
        for seq in seqs:
            by_message.setdefault(seq // SPAN, set()).add(seq % SPAN)
        trimmed = 0
        for stored, indexes in by_message.items():
            done = self._trimmed.setdefault(stored, set())
            trimmed += len(indexes - done)
            done |= indexes
            count = self._counts.get(stored)
            if count is None:
                count = await self._count(stored)
            if count is not None and len(done) >= count:
                try:
                    await self.js.delete_msg(self.stream, stored)
                except nats.js.errors.NotFoundError:
                    pass
                self._trimmed.pop(stored, None)
                self._counts.pop(stored, None)
        return trimmed

    async def _count(self, stored: int) -> int:
        try:
            msg = await self.js.get_msg(self.stream, seq=stored)
        except nats.js.errors.NotFoundError:
            return 0
        return len(decode_events(msg.data or b"", 0))
