"""The front ends: the `tuivmm` command line (commands.py, one module per command:
bare.py, run.py, dash.py), the headless run (headless.py) and the host terminal as
a guest console (terminal.py).  The dashboard is tuivmm.ui."""

from tuivmm.cli.commands import main

__all__ = ["main"]
