"""The JetStream primitives the NATS agent is built from: streams, consumers, pipelined
requests, and compare-and-set records on a one-message-per-subject stream (the inboxes that
receive their replies and deliveries are in :mod:`.inbound`)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

import nats

from ...errors import BackendUnavailableError
from .inbound import Inbound, subscribe_bytes
from .layout import MAX_PAYLOAD, Layout, NatsSettings

#: JetStream "wrong last sequence" errors: a compare-and-set lost.
_WRONG_LAST = (10071, 10164)
#: Seconds to wait for the replies of one pipelined window before the outcome is unknown.
REPLY_TIMEOUT = 10.0
#: Seconds a claim note is kept at most (the claimer deletes it once its claims ended).
NOTE_MAX_AGE = 86_400.0
_SEQ = re.compile(rb'"seq":(\d+)')


async def connect(settings: NatsSettings, location: str) -> Client:
    """Connect, or raise :class:`BackendUnavailableError` naming the servers."""
    options: dict[str, Any] = {
        "servers": list(settings.servers), "connect_timeout": 2, "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5, "allow_reconnect": True,
    }
    if settings.user is not None:
        options.update(user=settings.user, password=settings.password)
    if settings.auth_token is not None:
        options["token"] = settings.auth_token
    if settings.credentials is not None:
        options["user_credentials"] = settings.credentials
    if settings.tls is not None:
        options["tls"] = settings.tls
    try:
        return await nats.connect(**options)
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        raise BackendUnavailableError("agent", location, f"NATS: {exc}") from None


async def ensure_streams(js: JetStreamContext, layout: Layout, settings: NatsSettings) -> None:
    """Create the agent's streams (idempotent)."""
    root = layout.subject_root
    configs = [
        StreamConfig(name=layout.jobs_stream, subjects=[f"{root}.job.>"],
                     retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
                     duplicate_window=settings.dedup_window, max_msg_size=MAX_PAYLOAD,
                     allow_direct=True),
        StreamConfig(name=layout.state_stream,
                     subjects=[f"{root}.state.>", f"{root}.lease.>", f"{root}.cancel.>"],
                     storage=StorageType.FILE, max_msgs_per_subject=1, allow_direct=True,
                     discard=DiscardPolicy.OLD),
        StreamConfig(name=layout.events_stream, subjects=[layout.events_subject],
                     storage=StorageType.FILE, allow_direct=True),
        StreamConfig(name=layout.keys_stream, subjects=[f"{root}.key.>"],
                     storage=StorageType.FILE, max_msgs_per_subject=1,
                     max_age=settings.key_max_age, allow_direct=True),
        StreamConfig(name=layout.claims_stream, subjects=[f"{root}.claimed.>"],
                     storage=StorageType.FILE, max_age=NOTE_MAX_AGE, allow_direct=True),
    ]
    for config in configs:
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)


async def ensure_consumer(js: JetStreamContext, layout: Layout, lane: str, priority: int,
                          ack_wait: float) -> None:
    """Create (or update the AckWait of) the durable pull consumer of one lane and priority."""
    await js.add_consumer(layout.jobs_stream, ConsumerConfig(
        durable_name=layout.consumer(lane, priority), description=lane,
        filter_subject=layout.lane_filter(lane, priority), ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait, max_deliver=-1, max_ack_pending=-1))


class _Window:
    """The replies awaited for one call of :meth:`Pipeline.request`."""

    __slots__ = ("missing", "replies", "waiter", "wake_at")

    def __init__(self, size: int) -> None:
        self.missing = size
        self.replies: list[Inbound | None] = [None] * size
        self.wake_at = -1
        self.waiter: asyncio.Future[None] | None = None

    def arrived(self, index: int, msg: Inbound) -> None:
        if self.replies[index] is not None:
            return
        self.replies[index] = msg
        self.missing -= 1
        if self.missing <= self.wake_at and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def until_missing(self, missing: int) -> None:
        """Wait until at most ``missing`` replies are still awaited."""
        if self.missing <= missing:
            return
        self.wake_at = missing
        self.waiter = asyncio.get_running_loop().create_future()
        await asyncio.wait_for(self.waiter, REPLY_TIMEOUT)


class Pipeline:
    """Many JetStream requests (publishes, API calls) in few writes, every reply awaited.

    Replies come back on ``<inbox>.<call>.<index>`` through one subscription. (nats-py's
    ``publish_async`` subscribes once per message and encodes headers in Python per message,
    which caps a bulk enqueue near 5k jobs/s; one request per job would cap claims lower.)
    """

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._prefix = nc.new_inbox()
        self._next = 0
        self._windows: dict[int, _Window] = {}

    async def start(self) -> None:
        await subscribe_bytes(self.nc, f"{self._prefix}.*.*", self._on_reply)

    def _on_reply(self, subject: bytes, reply: bytes, data: bytes, head: bytes | None) -> None:
        _, window_id, index = subject.rsplit(b".", 2)
        window = self._windows.get(int(window_id))
        if window is not None:
            window.arrived(int(index), Inbound("", "", data, head))

    async def request(self, items: Sequence[Request], *, in_flight: int | None = None,
                      chunk: int = 512) -> list[Inbound]:
        """Send every request and return the replies in order. With ``in_flight``, requests
        are written ``chunk`` at a time while at most ``in_flight`` replies are outstanding
        (the server stores while the client encodes). TimeoutError when some reply did not
        come (the outcome of those requests is unknown)."""
        if in_flight is None:
            return await self.request_built(len(items), lambda start, end: items[start:end],
                                            in_flight=len(items), chunk=max(len(items), 1))
        return await self.request_built(len(items), lambda start, end: items[start:end],
                                        in_flight=in_flight, chunk=chunk)

    async def request_built(self, count: int, build: Callable[[int, int], Sequence[Request]],
                            *, in_flight: int, chunk: int) -> list[Inbound]:
        """:meth:`request` for ``count`` requests made ``chunk`` at a time by ``build(start,
        end)``, so that making the next ones overlaps with the server storing the previous."""
        if count == 0:
            return []
        self._next += 1
        window_id = self._next
        window = _Window(count)
        self._windows[window_id] = window
        prefix = f"{self._prefix}.{window_id}."
        try:
            for start in range(0, count, chunk):
                end = min(start + chunk, count)
                await self._send(prefix, build(start, end), start)
                await window.until_missing(count - end + in_flight)
            await window.until_missing(0)
        finally:
            del self._windows[window_id]
        return [reply for reply in window.replies if reply is not None]

    async def post(self, items: Sequence[tuple[str, bytes]], *, flush: bool = True) -> None:
        """Publish plain messages (acknowledgements, +WPI, NAKs) in one write; no replies.
        With ``flush``, wait until the server has read them (a PING/PONG round trip);
        without, they are on their way when this returns."""
        send_command = getattr(self.nc, "_send_command", None)
        flush_pending = getattr(self.nc, "_flush_pending", None)
        if send_command is None or flush_pending is None:
            for subject, payload in items:
                await self.nc.publish(subject, payload)
            await self.nc.flush()
            return
        if items:
            await send_command(b"".join(b"PUB %b %d\r\n%b\r\n" % (
                subject.encode(), len(payload), payload) for subject, payload in items))
        if flush:
            await self.nc.flush()
        else:
            await flush_pending()

    async def _send(self, prefix: str, items: Sequence[Request], first: int) -> None:
        send_command = getattr(self.nc, "_send_command", None)
        if send_command is None:  # another client version: the portable path
            for index, (subject, payload, headers) in enumerate(items, first):
                await self.nc.publish(subject, payload, reply=f"{prefix}{index}",
                                      headers=_parse_block(headers)
                                      if isinstance(headers, bytes) else headers)
        else:  # the protocol lines built here (our headers need no escaping), in one write
            chunks: list[bytes] = []
            reply_prefix = prefix.encode()
            for index, (subject, payload, headers) in enumerate(items, first):
                if headers:
                    head = headers if isinstance(headers, bytes) else header_block(headers)
                    chunks.append(b"HPUB %b %b%d %d %d\r\n%b%b\r\n" % (
                        subject.encode(), reply_prefix, index, len(head),
                        len(head) + len(payload), head, payload))
                else:
                    chunks.append(b"PUB %b %b%d %d\r\n%b\r\n" % (
                        subject.encode(), reply_prefix, index, len(payload), payload))
            await send_command(b"".join(chunks))
        # The replies are awaited anyway: have the client's flusher write now, without the
        # PING/PONG round trip of ``flush()``.
        flush_pending = getattr(self.nc, "_flush_pending", None)
        if flush_pending is not None:
            await flush_pending()
        else:
            await self.nc.flush()


#: (subject, payload, headers): headers as a dict, or as a block made by :func:`header_block`.
Request = tuple[str, bytes, "dict[str, str] | bytes | None"]


def header_block(headers: dict[str, str]) -> bytes:
    """The wire form of message headers (ours need no escaping)."""
    return b"NATS/1.0\r\n%b\r\n" % b"".join(
        b"%b: %b\r\n" % (k.encode(), v.encode()) for k, v in headers.items())


def _parse_block(block: bytes) -> dict[str, str]:
    lines = block.decode().split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in lines if line)


def pub_ack(reply: Inbound) -> tuple[int, bool] | None:
    """(sequence, duplicate) of a publish acknowledgement; None for "wrong last sequence"
    (a compare-and-set lost). Raises :class:`PublishError` for any other refusal."""
    data = reply.data
    if data.startswith(b'{"stream"') and b'"error"' not in data:  # the common case, cheaply
        found = _SEQ.search(data)
        if found is not None:
            return int(found.group(1)), b'"duplicate":true' in data
    if reply.status == "503":
        raise PublishError({"code": 503, "description": "no responders (JetStream down?)"})
    parsed: dict[str, Any] = json.loads(data) if data else {"error": {"code": 503}}
    error = parsed.get("error")
    if error is not None:
        if error.get("err_code") in _WRONG_LAST:
            return None
        raise PublishError(error)
    return int(parsed["seq"]), bool(parsed.get("duplicate", False))


class Records:
    """Compare-and-set records, one per subject, on a ``max_msgs_per_subject=1`` stream.

    A record's revision is its stream sequence: writes name the revision they replace
    (0 = must not exist), and a delete removes exactly one revision, so it fails if the
    record was replaced in between. This is how the agent fences leases. Every operation
    takes a batch and costs one round trip.
    """

    def __init__(self, js: JetStreamContext, pipeline: Pipeline, stream: str) -> None:
        self.js = js
        self.pipeline = pipeline
        self.stream = stream

    async def get_many(self, subjects: Sequence[str]) -> list[tuple[int, bytes] | None]:
        replies = await self.pipeline.request([
            (f"$JS.API.DIRECT.GET.{self.stream}", json.dumps({"last_by_subj": s}).encode(),
             None) for s in subjects])
        found: list[tuple[int, bytes] | None] = []
        for reply in replies:
            sequence = None if reply.status else reply.header("Nats-Sequence")
            found.append(None if sequence is None else (int(sequence), reply.data))
        return found

    async def get(self, subject: str) -> tuple[int, bytes] | None:
        return (await self.get_many([subject]))[0]

    async def write_many(self, items: Sequence[tuple[str, bytes, int | None]]
                         ) -> list[int | None]:
        """Store each ``(subject, data, revision)`` if the record is still at ``revision``
        (None = unconditionally); the new revisions, None where the condition failed."""
        replies = await self.pipeline.request([
            (subject, data, None if revision is None else
             {"Nats-Expected-Last-Subject-Sequence": str(revision)})
            for subject, data, revision in items])
        return [ack[0] if (ack := pub_ack(reply)) else None for reply in replies]

    async def write(self, subject: str, data: bytes, revision: int | None) -> int | None:
        return (await self.write_many([(subject, data, revision)]))[0]

    async def delete_many(self, revisions: Sequence[int]) -> list[bool]:
        """Remove exactly these revisions; False where one was replaced or removed already."""
        replies = await self.pipeline.request([
            (f"$JS.API.STREAM.MSG.DELETE.{self.stream}",
             json.dumps({"seq": r, "no_erase": True}).encode(), None) for r in revisions])
        return [b'"success":true' in reply.data for reply in replies]

    async def delete(self, revision: int) -> bool:
        return (await self.delete_many([revision]))[0]

    async def subjects(self, filter_subject: str) -> list[str]:
        info = await self.js.stream_info(self.stream, subjects_filter=filter_subject)
        return list((info.state.subjects or {}).keys())


class PublishError(nats.js.errors.APIError):
    """JetStream refused a publish."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(code=error.get("code"), err_code=error.get("err_code"),
                         description=error.get("description"))
