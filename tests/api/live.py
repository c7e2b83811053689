"""A real HTTP server (uvicorn on a loopback port, in a thread) around a started JobMaster,
for schemathesis and the browser tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from jobmaster.api import ApiSettings, AuthConfig, create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is the base URL."""

    def __init__(self, app: Any, auth: AuthConfig | None,
                 prepare: Callable[[Any], Awaitable[Any]] | None = None,
                 settings: ApiSettings | None = None) -> None:
        self.app = app
        self.auth = auth
        self.prepare = prepare
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prepared: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        async with self.app:
            if self.prepare is not None:
                self.prepared = await self.prepare(self.app)
            asgi = create_app(self.app, self.auth, settings=self.settings)
            config = uvicorn.Config(asgi, host="127.0.0.1", port=self.port, log_level="warning",
                                    lifespan="off")
            self._server = uvicorn.Server(config)
            serving = asyncio.create_task(self._server.serve())
            while not self._server.started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            self._ready.set()
            await serving

    def call(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine on the server's event loop (where the JobMaster lives)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)  # type: ignore[arg-type]

    def start(self) -> LiveServer:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(30)
