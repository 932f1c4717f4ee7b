"""Every guest's exits side by side (Alt+L): the lecture's gotcha, compared.

One table, a column per guest (its name, remedy, state and verdict on top), a row
per exit reason, then what the VMM did about them (by action), and the instructions
each ran directly and had emulated: what the exits pane shows for the selected
guest, for every guest at once.  The lineup `gotcha` (tuivmm dash --config gotcha)
runs eret-escape three ways (remedies none, bt and hw) and eret-escape-pv (pv) on the
flawed machine, to be read here.

It is a screen over the dashboard rather than a view of the exits pane: a column per
guest wants a terminal's width, which the exits pane never has beside the trap log
(58 columns at 200 x 55), and on an 80 x 24 terminal the screen has the same room the
pane would.  The guests run on behind it; it is drawn again twice a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen
from textual.widgets import Static

from tuivmm.ui.guestlist import VERDICT_STYLES
from tuivmm.ui.session import Session
from tuivmm.ui.traps import REASON_STYLES
from tuivmm.vmm import Guest
from tuivmm.vmm import traplog as T

# What the VMM did, in the table's order: the actions that tell the remedies apart
# first, shown always; the others only when some guest has them.
ALWAYS_ACTIONS = (T.EMULATED, T.INJECTED, T.BT_SCAN, T.SERVED)
OTHER_ACTIONS = (T.HIDDEN, T.TRUE, T.MMIO_READ, T.MMIO_WRITE, T.SBI_SERVED, T.SLEPT, T.CRASHED)

REFRESH_S = 0.5

# How to read the table for the gotcha (shown when a guest that gives a verdict is in it).
GOTCHA = (
    "Reading it (the ERET flaw on: SRET and MRET in U-mode run instead of trapping).  none: the "
    "kernel's SRETs to its user program ran unseen; its one xret exit is boot's MRET, and the user "
    "code ran on the kernel's view of memory, so its load of the kernel's secret was no true fault: "
    "ESCAPED.  bt: bt scans (page faults) before each code page first ran patched the SRETs into "
    "trapping words: they are xret exits again.  pv: the kernel asks by hypercall instead of SRET: "
    "hypercall exits, one xret.  hw: the hardware assist makes every xRET trap again: xret exits, as "
    "on a machine without the flaw.  Protected, the user's load of kernel memory is a true fault."
)


@dataclass(frozen=True)
class Row:
    """One line of the table: its label, a cell per guest, the label's style, and the
    title of the section it begins, if it begins one."""

    label: str
    cells: tuple[str, ...]
    style: str = ""
    section: str = ""


def comparison(guests: list[Guest]) -> list[Row]:
    """The table's rows, for these guests (a cell each, in order)."""

    def figure(values) -> tuple[str, ...]:
        return tuple(f"{value:,}" for value in values)

    rows = [
        Row("remedy", tuple(g.remedy for g in guests)),
        Row("state", tuple(g.state.value for g in guests)),
        Row("verdict", tuple(g.verdict or "-" for g in guests)),
    ]
    if any(g.sbi != "firmware" for g in guests):  # who answers SBI calls, once some guest's VMM does
        rows.insert(1, Row("sbi", tuple(g.sbi for g in guests)))
    for n, reason in enumerate(T.REASONS):
        rows.append(Row(reason, figure(g.log.counts.get(reason, 0) for g in guests), REASON_STYLES.get(reason, ""),
                        section="exits by reason" if n == 0 else ""))  # fmt: skip
    rows.append(Row("total exits", figure(g.log.total for g in guests), "bold"))
    seen = {action for g in guests for action, count in g.log.actions.items() if count}
    actions = [*ALWAYS_ACTIONS, *(a for a in OTHER_ACTIONS if a in seen),
               *sorted(seen - set(ALWAYS_ACTIONS) - set(OTHER_ACTIONS))]  # fmt: skip
    for n, action in enumerate(actions):
        rows.append(Row(action, figure(g.log.actions.get(action, 0) for g in guests),
                        section="what the VMM did" if n == 0 else ""))  # fmt: skip
    rows.append(Row("run directly", figure(g.direct_instructions for g in guests), section="instructions"))
    rows.append(Row("emulated by VMM", figure(g.emulated_instructions for g in guests)))
    return rows


def comparison_table(guests: list[Guest]) -> Table:
    """The comparison as a rich Table: figures right-aligned, zeros dim, verdicts in colour."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False, header_style="bold")
    table.add_column("", no_wrap=True)
    for guest in guests:
        table.add_column(guest.name, justify="right", no_wrap=True, min_width=9)
    for row in comparison(guests):
        if row.section:
            table.add_row(Text(row.section, style="italic dim"), *([""] * len(guests)))
        cells = []
        for text in row.cells:
            if row.label == "verdict":
                style = VERDICT_STYLES.get(text, "dim")
            elif text == "0":
                style = "dim"
            else:
                style = row.style if row.label == "total exits" else ""
            cells.append(Text(text, style=style))
        table.add_row(Text(row.label, style=row.style), *cells)
    return table


class CompareScreen(ModalScreen[None]):
    """Alt+L: every guest's exits side by side, over the dashboard.  z zeroes every
    guest's counters, to count from the same moment; Esc (or Alt+L) closes it."""

    DEFAULT_CSS = """
    CompareScreen { align: center middle; }
    CompareScreen #compare {
        width: auto; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
        overflow: auto auto; scrollbar-size: 1 1;
    }
    CompareScreen #compare-title { width: auto; margin-bottom: 1; }
    CompareScreen #compare-table { width: auto; }
    CompareScreen #compare-legend { width: 74; color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [
        Binding("escape,alt+l", "close", "Close"),
        Binding("z", "zero_all", "Zero every guest's counters"),
    ]

    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self._shown: object = None

    def compose(self) -> ComposeResult:
        with ScrollableContainer(id="compare"):
            yield Static(id="compare-title")
            yield Static(id="compare-table")
            yield Static(GOTCHA, id="compare-legend")

    def on_mount(self) -> None:
        self.query_one("#compare").border_title = "every guest's exits, side by side"
        self.query_one("#compare").focus()  # so the arrows, PgUp and PgDn scroll it
        self.refresh_from_session()
        if getattr(self.app, "refresh_hz", None):  # the guests run on behind it
            self.set_interval(REFRESH_S, self.refresh_from_session)

    def refresh_from_session(self) -> None:
        guests = list(self.session.guests)
        rows = comparison(guests)
        flaw = "on" if self.session.vmm.flawed_eret else "off"
        shown = ([g.name for g in guests], rows, flaw)
        if shown == self._shown:
            return
        self._shown = shown
        title = Text.assemble(
            "Exits since each guest's last reset (F7) or zeroing (Alt+Z).\nERET flaw ", (flaw, "bold"),
            "  ·  z: zero them all  ·  ↑↓ PgUp PgDn: scroll  ·  Esc: close",
        )  # fmt: skip
        self.query_one("#compare-title", Static).update(title)
        table = comparison_table(guests) if guests else Text("no guests", style="dim")
        self.query_one("#compare-table", Static).update(table)
        self.query_one("#compare-legend").display = any(g.verdict_rule is not None for g in guests)

    def action_zero_all(self) -> None:
        for guest in self.session.guests:
            self.session.zero_counters(guest.name)
        self.notify("every guest's counters zeroed", timeout=3)
        self.refresh_from_session()

    def action_close(self) -> None:
        self.dismiss(None)
