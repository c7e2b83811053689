"""The agent's inboxes: raw message handlers on the client's read loop, and no-wait pulls.

nats-py turns every message into a ``Msg`` (headers parsed into a dict), queues it and wakes
the subscription's task: about 10 µs per message, paid for every publish acknowledgement and
every delivered job. For the agent's own inboxes the client's message hook is wrapped instead
and handlers get the raw fields (with a client that has no such hook, the ordinary callback
path is used).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

log = logging.getLogger("jobmaster.nats")
#: Seconds a pull waits for its messages before returning what it has.
PULL_TIMEOUT = 2.0


class Inbound:
    """A message received on one of the agent's inboxes: subject, reply, payload and the raw
    header block (nats-py builds no ``Msg`` object, queue entry or task for it)."""

    __slots__ = ("data", "head", "reply", "subject")

    def __init__(self, subject: str, reply: str, data: bytes, head: bytes | None) -> None:
        self.subject = subject
        self.reply = reply
        self.data = data
        self.head = head

    @property
    def status(self) -> str | None:
        """The status code of a status message (``NATS/1.0 404 ...``), else None."""
        head = self.head
        if not head or not head.startswith(b"NATS/1.0 "):
            return None
        return head[9:12].decode()

    def header(self, name: str) -> str | None:
        if not self.head:
            return None
        key = name.encode() + b":"
        for line in self.head.split(b"\r\n")[1:]:
            if line.startswith(key):
                return line[len(key):].strip().decode()
        return None

    @classmethod
    def of(cls, msg: Msg) -> Inbound:
        """The same view of a message nats-py has parsed (the portable path)."""
        headers = dict(msg.headers or {})
        status = headers.pop("Status", None)
        head = None
        if status is not None or headers:
            head = (b"NATS/1.0" + (b" " + status.encode() if status else b"") + b"\r\n"
                    + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()))
        return cls(msg.subject, msg.reply, msg.data, head)


InboundHandler = Callable[[Inbound], None]
#: A handler of raw messages: (subject, reply, payload, header block or None).
RawHandler = Callable[[bytes, bytes, bytes, "bytes | None"], None]


async def subscribe_raw(nc: Client, subject: str, handler: InboundHandler) -> Subscription:
    """Subscribe ``handler`` (a plain function, called from the client's read loop).

    nats-py turns every message into a ``Msg`` (headers parsed into a dict), queues it and
    wakes the subscription's task: about 10 µs per message, paid for every publish
    acknowledgement and every delivered job. For the agent's own inboxes the client's message
    hook is wrapped instead, and the handler gets the raw fields; with a client that has no such
    hook the ordinary callback path is used.
    """

    def raw(subject: bytes, reply: bytes, data: bytes, head: bytes | None) -> None:
        handler(Inbound(subject.decode(), reply.decode(), data, head))

    return await subscribe_bytes(nc, subject, raw)


async def subscribe_bytes(nc: Client, subject: str, handler: RawHandler) -> Subscription:
    """:func:`subscribe_raw` for a handler of the raw bytes (not even the subject decoded)."""

    async def portable(msg: Msg) -> None:
        inbound = Inbound.of(msg)
        handler(msg.subject.encode(), msg.reply.encode(), msg.data, inbound.head)

    subscription = await nc.subscribe(subject, cb=portable)
    table = _raw_handlers(nc)
    if table is not None:
        table[subscription._id] = handler
    return subscription


def _raw_handlers(nc: Client) -> dict[int, RawHandler] | None:
    table: dict[int, RawHandler] | None = getattr(nc, "_jobmaster_raw", None)
    if table is not None:
        return table
    original = getattr(nc, "_process_msg", None)
    if original is None:
        return None
    handlers: dict[int, RawHandler] = {}

    async def process_msg(sid: int, subject: bytes, reply: bytes, data: bytes,
                          headers: bytes | None) -> None:
        handler = handlers.get(sid)
        if handler is None:
            await original(sid, subject, reply, data, headers)
            return
        try:
            handler(subject, reply, data, headers)
        except Exception:  # never let one message break the client's read loop
            log.exception("NATS agent: handling a message on %r failed", subject[:200])

    setattr(nc, "_process_msg", process_msg)  # noqa: B010 (a method of the client instance)
    setattr(nc, "_jobmaster_raw", handlers)  # noqa: B010
    return handlers


def delivery(reply: str) -> tuple[int, int]:
    """(delivery count, stream sequence) of a JetStream delivery, read from its reply subject
    (``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...``, with domain and account hash
    after ``ACK`` in the newer form) without building nats-py's metadata object."""
    tokens = reply.split(".")
    if len(tokens) == 9:
        return int(tokens[4]), int(tokens[5])
    return int(tokens[6]), int(tokens[7])


class _Inbox:
    """One persistent inbox subscription that gathers the messages of one pull at a time."""

    __slots__ = ("batch", "done", "messages", "nc", "subject")

    def __init__(self, nc: Client, subject: str) -> None:
        self.nc = nc
        self.subject = subject
        self.batch = 0
        self.messages: list[Inbound] = []
        self.done: asyncio.Future[None] | None = None

    def on_message(self, msg: Inbound) -> None:
        done = self.done
        status = msg.status
        if done is None or done.done():  # a late delivery of a pull that gave up
            if msg.reply and status is None:
                asyncio.get_running_loop().create_task(self.nc.publish(msg.reply, b"-NAK"))
            return
        if status is not None:  # 404/408: nothing (more) available now
            done.set_result(None)
            return
        self.messages.append(msg)
        if len(self.messages) >= self.batch:
            done.set_result(None)


class Puller:
    """No-wait batch pulls, answered on persistent inbox subscriptions (one per pull in
    progress, reused).

    (A fresh subscription per pull, read with ``next_msg``, costs a subscribe, an unsubscribe
    and a timer per message; here each delivery is one append.) A delivery that reaches an
    inbox between pulls (its pull timed out) is NAKed.
    """

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._free: list[_Inbox] = []

    async def _inbox(self) -> _Inbox:
        if self._free:
            return self._free.pop()
        inbox = _Inbox(self.nc, self.nc.new_inbox())
        await subscribe_raw(self.nc, inbox.subject, inbox.on_message)
        return inbox

    async def pull(self, stream: str, consumer: str, batch: int) -> list[Inbound]:
        """Up to ``batch`` messages available now (never blocks on an empty queue)."""
        inbox = await self._inbox()
        inbox.batch = batch
        messages: list[Inbound] = []
        inbox.messages = messages
        done = inbox.done = asyncio.get_running_loop().create_future()
        # No ``expires``: with it, a 2.9 server holds a no-wait pull until it expires whenever
        # delivered messages await their acks (measured: 100 ms per empty pull).
        await self.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
                              b'{"batch":%d,"no_wait":true}' % batch, inbox.subject)
        try:
            await asyncio.wait_for(asyncio.shield(done), PULL_TIMEOUT)
        except TimeoutError:  # keep what arrived; deliveries between pulls are NAKed
            done.cancel()
        self._free.append(inbox)
        return messages
