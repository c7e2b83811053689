"""Names, settings and the low-level JetStream operations of the NATS agent.

Per cluster and agent connection (``P`` = stream prefix, ``C`` = cluster, ``A`` = agent):

- stream ``P_C_A_JOBS`` (work-queue retention, file storage, dedup window): one message per
  queued job on subject ``p.C.A.job.<lane>.<priority>.<job id>``;
- stream ``P_C_A_STATE`` (one message per subject): ``p.C.A.state.<job id>`` holds what changed
  since a job was published (its lease while processing, a retry, a cancel marker); its
  revision (stream sequence) fences the lease (a claim of a first delivery has none: see
  :mod:`.claims`). ``p.C.A.lease.<job id>`` holds the expiry pushed
  by heartbeats and ``p.C.A.cancel.<job id>`` a cancel request for a running job (both kept
  apart so that they never change the fencing revision);
- stream ``P_C_A_EVENTS``: the outbox, one message per batch of events on ``p.C.A.events``;
- stream ``P_C_A_KEYS`` (max age 1 day): ``p.C.A.key.<sha1>`` = the job id holding a key;
- stream ``P_C_A_CLAIMS`` (max age 1 day): ``p.C.A.claimed.<bucket>``, claim notes (who claimed
  which first deliveries of a batch, and when; see :mod:`.notes`);
- durable pull consumer ``q-<lane>-<priority>`` per lane and priority, shared by workers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ...config import BackendSpec

_SAFE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
MAX_PAYLOAD = 1024 * 1024


def token(name: str) -> str:
    """A subject/stream-name token for a user name (lanes, clusters, agents)."""
    if _SAFE.match(name):
        return name
    return "x" + name.encode().hex()[:60] + hashlib.sha1(name.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class NatsSettings:
    """Connection and layout settings, from ``use_nats_jetstream_for_agent``."""

    servers: tuple[str, ...]
    cluster: str
    stream_prefix: str = "JM"
    user: str | None = None
    password: str | None = None
    auth_token: str | None = None
    credentials: str | None = None
    tls: Any = None
    dedup_window: float = 120.0
    ack_wait: float = 30.0
    key_max_age: float = 86_400.0

    @classmethod
    def from_spec(cls, spec: BackendSpec) -> NatsSettings:
        options = dict(spec.options)
        servers = tuple(s for s in spec.target.split(",") if s)
        return cls(servers=servers, cluster=str(options.pop("cluster", "default")), **options)


@dataclass(frozen=True, slots=True)
class Layout:
    """Stream, subject and consumer names of one agent connection."""

    prefix: str
    subject_root: str

    @classmethod
    def of(cls, settings: NatsSettings, agent: str) -> Layout:
        prefix = f"{token(settings.stream_prefix)}_{token(settings.cluster)}_{token(agent)}"
        root = f"{token(settings.stream_prefix).lower()}.{token(settings.cluster)}.{token(agent)}"
        return cls(prefix, root)

    @property
    def jobs_stream(self) -> str:
        return f"{self.prefix}_JOBS"

    @property
    def state_stream(self) -> str:
        return f"{self.prefix}_STATE"

    @property
    def events_stream(self) -> str:
        return f"{self.prefix}_EVENTS"

    @property
    def keys_stream(self) -> str:
        return f"{self.prefix}_KEYS"

    @property
    def claims_stream(self) -> str:
        return f"{self.prefix}_CLAIMS"

    @property
    def events_subject(self) -> str:
        return f"{self.subject_root}.events"

    @property
    def wake_subject(self) -> str:
        return f"{self.subject_root}.wake"

    def job_subject(self, lane: str, priority: int, job_id: str) -> str:
        return f"{self.subject_root}.job.{token(lane)}.{priority}.{job_id}"

    def any_job_subject(self, job_id: str) -> str:
        return f"{self.subject_root}.job.*.*.{job_id}"

    def lane_filter(self, lane: str, priority: int) -> str:
        return f"{self.subject_root}.job.{token(lane)}.{priority}.*"

    def consumer(self, lane: str, priority: int) -> str:
        return f"q-{token(lane)}-{priority}"

    def state_subject(self, job_id: str) -> str:
        return f"{self.subject_root}.state.{job_id}"

    def lease_subject(self, job_id: str) -> str:
        return f"{self.subject_root}.lease.{job_id}"

    def cancel_subject(self, job_id: str) -> str:
        return f"{self.subject_root}.cancel.{job_id}"

    def note_subject(self, bucket: int) -> str:
        return f"{self.subject_root}.claimed.{bucket}"

    def key_subject(self, key: str) -> str:
        return f"{self.subject_root}.key.{hashlib.sha1(key.encode()).hexdigest()}"
