"""The front ends: the `tuivmm` command line (commands.py, one module per command:
bare.py, run.py, dash.py, serve.py), the headless run (headless.py), the host
terminal as a guest console (terminal.py) and the web server that shows the dashboard
in a browser (webserver.py).  The dashboard is tuivmm.ui."""

from tuivmm.cli.commands import main

__all__ = ["main"]
