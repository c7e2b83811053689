"""Claim notes: who claimed which first deliveries, and when.

A first delivery's claim writes no state record (see :mod:`.claims`), so the worker and start
time of its attempt are written once per claimed batch instead: one message in the ``CLAIMS``
stream per batch and bucket of 1,024 stream sequences, on ``claimed.<bucket>``, listing the
sequences claimed. They are read only on rare paths: a redelivery after the holder was lost
(to record the abandoned attempt) and the in-flight view of another process. The claiming
instance deletes a note once none of its claims is held; notes of a process that died expire.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .client import pub_ack

if TYPE_CHECKING:
    from .agent import NatsAgent

BUCKET_BITS = 10
#: Notes are read at most this many per bucket when looking a sequence up.
_SCAN = 64


class ClaimNotes:
    """Publishes, looks up and deletes this agent's claim notes."""

    def __init__(self, agent: NatsAgent) -> None:
        self.agent = agent
        self._note_of: dict[str, int] = {}
        self._left: dict[int, int] = {}
        self._finished: list[int] = []

    async def publish(self, worker: str, started_at: float,
                      claims: Sequence[tuple[str, int]]) -> None:
        """Note the ``(job id, stream sequence)`` claims of one batch (one round trip)."""
        buckets: dict[int, list[tuple[str, int]]] = {}
        for job_id, seq in claims:
            buckets.setdefault(seq >> BUCKET_BITS, []).append((job_id, seq))
        layout = self.agent.layout
        replies = await self.agent.pipeline.request([
            (layout.note_subject(bucket), json.dumps(
                {"w": worker, "t": started_at, "s": [seq for _, seq in items]},
                separators=(",", ":")).encode(), None)
            for bucket, items in buckets.items()])
        for items, reply in zip(buckets.values(), replies, strict=True):
            ack = pub_ack(reply)
            if ack is None:
                continue
            self._left[ack[0]] = len(items)
            for job_id, _ in items:
                self._note_of[job_id] = ack[0]

    def forget(self, job_id: str) -> None:
        """The claim of ``job_id`` ended here; its note goes once all its claims did."""
        note = self._note_of.pop(job_id, None)
        if note is None:
            return
        self._left[note] -= 1
        if self._left[note] <= 0:
            del self._left[note]
            self._finished.append(note)

    async def collect(self) -> None:
        """Delete the notes whose claims all ended (one round trip)."""
        if self._finished:
            finished, self._finished = self._finished, []
            await self.agent.notes_records.delete_many(finished)

    async def find(self, seq: int) -> tuple[str, float] | None:
        """(worker, start time) of the first-delivery claim of the message at ``seq``."""
        layout = self.agent.layout
        api = f"$JS.API.DIRECT.GET.{layout.claims_stream}"
        subject = layout.note_subject(seq >> BUCKET_BITS)
        after = 0
        for _ in range(_SCAN):
            [reply] = await self.agent.pipeline.request([
                (api, json.dumps({"seq": after + 1, "next_by_subj": subject}).encode(), None)])
            found = reply.header("Nats-Sequence")
            if reply.status or found is None:
                return None
            after = int(found)
            note = json.loads(reply.data)
            if seq in note["s"]:
                return str(note["w"]), float(note["t"])
        return None
