"""The web server behind `tuivmm serve`: textual-serve's Server, which starts a
command per browser and relays its screen and keys over a websocket, told to listen
on a socket serve.py has bound already (so a port in use was a one-line error before
anything started), to print a line as each browser comes and goes instead of its logo
and access log, and to close the dashboards it started when it stops (aiohttp alone
would wait a minute for their websockets, then cut them off)."""

from __future__ import annotations

import asyncio
import signal
import socket

from aiohttp import web
from textual_serve.server import Server

SHUTDOWN_SECONDS = 10.0  # what the dashboards get to quit once the server is told to stop


class DashboardServer(Server):
    def __init__(self, command: str, host: str, port: int) -> None:
        super().__init__(command, host=host, port=port, title="tuivmm")
        self.sessions: set[asyncio.Task] = set()  # a handler per browser, each with its dashboard

    def serve_on(self, listener: socket.socket) -> None:
        """Serve until SIGINT (Ctrl-C), SIGTERM or SIGHUP, then close every dashboard."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(self._make_app(), sock=listener, handle_signals=False, loop=loop, print=None, access_log=None,
                    shutdown_timeout=SHUTDOWN_SECONDS)  # fmt: skip

    async def on_startup(self, app: web.Application) -> None:
        pass  # textual-serve prints its logo here; serve.py has printed the address

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        self.sessions.add(task)
        print(f"tuivmm serve: a browser connected ({len(self.sessions)} open)", flush=True)
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions.discard(task)
            print(f"tuivmm serve: a browser left ({len(self.sessions)} open)", flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        for task in self.sessions:
            task.cancel()  # textual-serve's handler then closes the page's websocket and quits its dashboard
        if self.sessions:
            await asyncio.wait(self.sessions, timeout=SHUTDOWN_SECONDS)
