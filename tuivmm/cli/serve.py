"""`tuivmm serve [--port N] [GUEST... | --config FILE]`: the dashboard in a web browser.

textual-serve runs a command per browser that connects and relays its screen and keys
over a websocket to xterm.js in the page.  The command here is this same Python
running `-m tuivmm dash` with the GUESTs and options serve was given, so each browser
gets a dashboard of its own, with guests of its own.  The guests are checked here,
before anything listens, so a misspelled one is the same one line `dash` prints, not
a page that shows a dashboard without it.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import socket
import sys

from tuivmm.cli import dash
from tuivmm.cli.common import UserError, tcp_port

HOST = "127.0.0.1"  # this machine only: the dashboard lets whoever opens it type into the guests
DEFAULT_PORT = 8000


def add_parser(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="the dashboard in a web browser, served on 127.0.0.1",
        description="Serve the dashboard to a web browser (through textual-serve) on 127.0.0.1:PORT, "
        "this machine only, and print the address to open. Every browser that opens it gets a dashboard "
        "of its own, running its own guests: the GUESTs and options here, which are `tuivmm dash`'s and "
        "mean what they mean there; a guest that cannot be loaded is an error before anything is served. "
        "Ctrl-C stops the server and the dashboards it started.",
    )
    serve.add_argument("--port", type=tcp_port, default=DEFAULT_PORT, metavar="N",
                       help=f"the TCP port to listen on (default {DEFAULT_PORT}; 0: a free one, which tuivmm "
                            "tells)")  # fmt: skip
    dash.add_arguments(serve)
    serve.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: list[str]) -> int:
    """Check the guests as `dash` would, listen, print the address, serve until
    Ctrl-C (or SIGTERM, SIGHUP).  `argv` is the command line after `tuivmm`: what
    follows `serve` in it, but for --port, is what each dashboard is started with."""
    _, problems = dash.lineup_for(args)  # a bad option: SpecError or UserError, one line
    if problems:
        for problem in problems[:-1]:
            print(f"tuivmm: {problem}", file=sys.stderr)
        raise UserError(problems[-1])
    # textual-serve runs the command with /bin/sh, in serve's process group, so Ctrl-C at the
    # terminal would reach the dashboards too and cut them off mid-frame: they ignore it, and
    # serve quits each in turn (webserver.py).  exec: the shell becomes the dashboard.
    dashboard = shlex.join([sys.executable, "-m", "tuivmm", "dash", *dash_arguments(argv, args.debug)])
    dash_command = f"trap '' INT; exec {dashboard}"
    os.environ[dash.SERVED_BY] = str(os.getpid())  # each dashboard quits if serve is killed (dash.py)
    try:
        from tuivmm.cli.webserver import DashboardServer  # aiohttp and textual-serve: only when serving
    except ImportError as exc:  # an install from before serve: its dependencies are not there
        raise UserError(f"tuivmm serve needs textual-serve ({exc}); install it: pip install textual-serve") from None
    listener = listen(args.port)
    port = listener.getsockname()[1]
    print(f"tuivmm serve: open http://{HOST}:{port} in a browser (Ctrl-C stops)", flush=True)
    DashboardServer(dash_command, HOST, port).serve_on(listener)
    print("tuivmm serve: stopped", flush=True)
    return 0


def dash_arguments(argv: list[str], debug: bool) -> list[str]:
    """What the user typed after `serve`, as typed, less --port (in whichever form
    argparse took it: `--port N`, `--port=N`, `--po N`); --debug if given before
    `serve`, so the dashboards show tracebacks too."""
    after = argv[argv.index("serve") + 1 :]
    port_only = argparse.ArgumentParser(add_help=False)
    port_only.add_argument("--port")
    _, rest = port_only.parse_known_args(after)
    return ["--debug", *rest] if debug and "--debug" not in rest else rest


def listen(port: int) -> socket.socket:
    """A socket listening on HOST:port (0: a free port), or a one-line UserError."""
    try:
        return socket.create_server((HOST, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {HOST} is in use; choose another with --port (0: any free one)") from None
        if exc.errno == errno.EACCES:
            raise UserError(f"port {port} on {HOST}: permission denied (ports below 1024 need root); choose "
                            "another with --port") from None  # fmt: skip
        raise UserError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
