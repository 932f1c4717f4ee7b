"""Where the dashboard's panes go, for a terminal of a given size.

The app asks `plan(width, height, guests)` whenever the terminal changes size (or a
guest comes or goes) and applies what it returns; nothing else decides sizes, so a
resize always lays the screen out afresh.  Two arrangements:

    wide (at least WIDE_MIN)                stacked (anything smaller)
    ┌ guests ────────────────────────┐      ┌ guests ──────────────┐
    ├ console ─┬ memory map ─────────┤      │ console│memory│exits… │  <- the pane bar
    │ 80 x 24  │ (or the registers)  │      │ one pane at a time:  │
    │ or more  │                     │      │ the console, or the  │
    ├ trap log ┴──────────┬ exits ───┤      │ one picked (Alt+M…)  │
    │                     │          │      │                      │
    └─────────────────────┴──────────┘      └──────────────────────┘

In the wide arrangement extra height is shared: the console's row grows with the
terminal (the guest's screen gets the rows), and the trap log and exit counters
below it get the rest; extra width goes to the memory map and the trap log.  The
registers pane shares the memory map's place (Alt+V, Alt+M: the one asked for
last shows) until there is room for both (REGISTERS_MIN more columns): from there
it stands beside the memory map, and the two share what width is left.  The
stacked one gives the console the whole width (80 columns on an 80 x 24 terminal)
and every line the guest list does not need.  Below MIN_SIZE nothing is usable: the
app says so instead.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SIZE = (60, 15)  # columns, lines: below this the app asks for a bigger terminal
WIDE_MIN = (140, 36)  # the wide arrangement from this size up
CONSOLE_WIDTH = 82  # 80 columns of guest screen and the pane's border
CONSOLE_HEIGHT = 26  # 24 lines of guest screen and the border
EXITS_WIDTH = 58  # the exit counters beside the trap log
MEMORY_MIN = 58  # the memory map's width in the wide arrangement, at least
REGISTERS_MIN = 60  # the registers pane beside the memory map: this wide at least (3 columns of registers)
REGISTERS_WIDTH = 82  # ... and at most (5 columns, the border, a scrollbar)
TRAPS_MIN = 10  # lines the trap log keeps in the wide arrangement, at least
STACKED_CONSOLE_MIN = 8  # guest screen lines the stacked console keeps, at least
CHROME = 2  # the header and the footer

PANES = ("console", "memory", "exits", "traps", "registers")


@dataclass(frozen=True)
class Plan:
    """Sizes, in terminal cells, of what the app shows."""

    mode: str  # "wide", "stacked" or "too small"
    list_rows: int  # guests the guest list shows at once (it scrolls for more)
    list_height: int  # the guest list's height, borders and heading included
    upper: int = 0  # wide: the height of the console's row (console and memory map)
    console_width: int = 0  # wide: the console pane's width, border included
    lower: int = 0  # wide: the height of the row below (trap log and exit counters)
    exits_width: int = 0  # wide: the exit counters' width
    registers_width: int = 0  # wide: the registers pane's width beside the memory map; 0: in its place


def list_height(rows: int, bordered: bool) -> int:
    """The guest list's height for `rows` guests: the heading, and a border around
    (wide) or a title line above (stacked)."""
    return rows + 1 + (2 if bordered else 1)


def plan(width: int, height: int, guests: int) -> Plan:
    """The arrangement for a width x height terminal showing `guests` guests."""
    guests = max(1, guests)
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return Plan("too small", 0, 0)
    body = height - CHROME
    if width >= WIDE_MIN[0] and height >= WIDE_MIN[1]:
        # The list: every guest up to a fifth of the screen (at least three rows).
        rows = min(guests, max(3, body // 5))
        top = list_height(rows, bordered=True)
        rest = body - top
        # The console's row: its natural 26 lines, more as the terminal grows (55%),
        # but never so many that the trap log gets fewer than TRAPS_MIN.
        upper = max(CONSOLE_HEIGHT, round(rest * 0.55))
        upper = max(min(upper, rest - TRAPS_MIN), 12)
        console = min(CONSOLE_WIDTH, width - MEMORY_MIN)
        spare = width - console - MEMORY_MIN - REGISTERS_MIN  # what is left with both panes beside
        registers = 0 if spare < 0 else min(REGISTERS_WIDTH, REGISTERS_MIN + spare // 2)
        return Plan("wide", rows, top, upper, console, rest - upper, EXITS_WIDTH, registers)
    # Stacked: the pane bar takes one line; the console keeps STACKED_CONSOLE_MIN lines
    # and the list may take up to a third of what is left.
    room = body - list_height(0, bordered=False) - 1
    rows = max(1, min(guests, room - STACKED_CONSOLE_MIN, room // 3))
    return Plan("stacked", rows, list_height(rows, bordered=False))
