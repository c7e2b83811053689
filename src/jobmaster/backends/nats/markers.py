"""This agent's view of cancel markers, checked before first deliveries are claimed.

A first delivery is claimed without reading anything per job (see :mod:`.claims`), so a job
cancelled while queued is stopped by its marker (``cancel.<job id>`` in the ``STATE`` stream):
before a batch of first deliveries is claimed, the view reads every marker stored after the
last one it knows, one request each, ending with the one that finds none. The canceller
writes the marker *before* it checks whether the message was delivered, so a delivery it did
not see is claimed after that check, and therefore after the marker is in the view.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .client import PublishError
from .records import now_epoch

if TYPE_CHECKING:
    from .agent import NatsAgent

#: Markers are forgotten after this long (the rescuer deletes them from the stream too).
MARKER_TTL = 600.0


class CancelMarkers:
    """Job ids with a cancel marker, kept fresh by reading the markers stored since."""

    def __init__(self, agent: NatsAgent) -> None:
        self.agent = agent
        self._seen: dict[str, float] = {}
        self._after = 0
        self._pruned_at = now_epoch()

    async def cancelled(self, job_ids: Sequence[str]) -> set[str]:
        """The ids among ``job_ids`` that have a cancel marker (the view is refreshed first)."""
        await self.refresh()
        return {job_id for job_id in job_ids if job_id in self._seen}

    async def refresh(self) -> None:
        """Read the markers stored after the newest one known (one round trip if none)."""
        layout = self.agent.layout
        # The stream leader's API, not a direct get: a replica answering a direct get may not
        # have the newest marker yet.
        api = f"$JS.API.STREAM.MSG.GET.{layout.state_stream}"
        pattern = f"{layout.subject_root}.cancel.>"
        now = now_epoch()
        while True:
            [reply] = await self.agent.pipeline.request([
                (api, json.dumps({"seq": self._after + 1, "next_by_subj": pattern}).encode(),
                 None)])
            answer = json.loads(reply.data) if reply.data else {}
            message = answer.get("message")
            if message is None:
                error = answer.get("error") or {"code": reply.status, "description": "no reply"}
                if error.get("code") == 404:  # no marker after the newest one known
                    break
                raise PublishError(error)
            self._after = int(message["seq"])
            self._seen[str(message["subject"]).rsplit(".", 1)[1]] = now
        if now - self._pruned_at > MARKER_TTL:
            self._seen = {k: seen for k, seen in self._seen.items() if now - seen < MARKER_TTL}
            self._pruned_at = now
