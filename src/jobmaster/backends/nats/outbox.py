"""The NATS agent's outbox: batches of events in the ``EVENTS`` stream.

Each :meth:`AgentTransport.finish` (or rescue) batch is one message. Event ``i`` of the message
at stream sequence ``s`` has ``seq = s * SPAN + i``, so :meth:`trim` can delete a message once
all its events were trimmed; partly trimmed messages are remembered in memory (after a restart
their events are read again, which the master's highest-version rule makes harmless).
"""

from __future__ import annotations

from collections.abc import Sequence

import nats.js.errors
from nats.js import JetStreamContext

from ...model import JobEvent
from .records import decode_events, encode_events

SPAN = 1 << 16


class Outbox:
    """Append, read and trim the event batches of one agent."""

    def __init__(self, js: JetStreamContext, stream: str, subject: str) -> None:
        self.js = js
        self.stream = stream
        self.subject = subject
        self._counts: dict[int, int] = {}
        self._trimmed: dict[int, set[int]] = {}

    async def append(self, events: Sequence[JobEvent]) -> None:
        """Store events durably (awaits the publish acknowledgement)."""
        for start in range(0, len(events), SPAN // 2):
            await self.js.publish(self.subject, encode_events(list(events[start:start + SPAN // 2])))

    async def read(self, limit: int, *, scan: int | None = None) -> list[JobEvent]:
        """The oldest ``limit`` untrimmed events (at least one message's worth)."""
        events: list[JobEvent] = []
        seq = 1
        messages = 0
        while len(events) < limit and (scan is None or messages < scan):
            try:
                msg = await self.js.get_msg(self.stream, seq=seq, subject=self.subject, next=True)
            except nats.js.errors.NotFoundError:
                break
            messages += 1
            stored = msg.seq or 0
            batch = decode_events(msg.data or b"", stored * SPAN)
            self._counts[stored] = len(batch)
            done = self._trimmed.get(stored, set())
            fresh = [e for e in batch if e.seq % SPAN not in done]
            if events and len(events) + len(fresh) > limit:
                break
            events.extend(fresh)
            seq = stored + 1
        return events

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
