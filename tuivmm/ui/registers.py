"""The registers pane: the selected guest's virtual hart.

    pc 0x80003ca0   privilege S (virtual; the real hart: U)   retired 455,012
    ra  0x80003c9c  s0  0x8002d300  a5  0xe2004000  s6  0x800380a8  t4  0x00000000
    sp  0x8002edd0  ...                (x1..x31 by ABI name, down the columns)

    mstatus  0x000000a0  MIE=0 MPIE=1 MPP=U SIE=0 SPIE=1 SPP=U
                         MPRV=0 SUM=0 MXR=0 TVM=0 TW=0 TSR=0
    satp     0x80087fff  Sv32 ASID=0 PPN=0x87fff (root table at 0x87fff000)
    ...                  (the CSRs of hartview.SHOWN_CSRS, each with its fields)

A clear one-bit field is dimmed as well as =0, so it reads on a monochrome screen
(and in a plain-text capture) too.  The width decides how many columns of registers
there are and where a CSR's fields wrap, so the pane reads at 80 columns and in the
60 it gets beside the memory map.

What changed since the pane last showed this guest is marked (reverse video): the
pc, registers, CSR values and the fields of a CSR that changed.  After F6 that is
what the one instruction did; while the guest runs, what it did since the last
redraw.  The pane redraws only while on display, and only when the guest's state
(`Guest.hart_state`, a tuple of numbers) differs from what it shows; a running guest
at most every RUNNING_INTERVAL_S.
"""

from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from machine.cpu.csrs import PRIV_NAMES, U
from machine.cpu.isa import ABI_NAMES
from tuivmm.ui.memory import on_display
from tuivmm.ui.session import Session
from tuivmm.vmm import Guest, GuestState
from tuivmm.vmm.hartview import SHOWN_CSRS, HartState, decode

RUNNING_INTERVAL_S = 0.2  # a running guest's registers: redrawn at most this often
CELL = 14  # "s11 0x00000000"
GAP = 2  # between register columns
CSR_NAME = 9  # "sscratch " (the longest name and a space)
VALUE = "0x{:08x}"
MARK = "reverse bold"  # what changed since the pane last showed the guest


def register_columns(width: int) -> int:
    """How many columns of registers fit in `width` cells (at least one)."""
    return max(1, (width + GAP) // (CELL + GAP))


def _value(text: Text, value: int, marked: bool) -> None:
    text.append(VALUE.format(value), style=MARK if marked else ("dim" if value == 0 else ""))


def headline(state: HartState, marked: frozenset[str], width: int) -> Text:
    """pc and virtual privilege (and, where they fit, what that means, and the count)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("pc ", style="bold")
    _value(text, state.pc, "pc" in marked)
    text.append("   privilege ", style="bold")
    text.append(PRIV_NAMES.get(state.priv, "?"), style=MARK if "priv" in marked else "bold")
    for extra in (f" (virtual; the real hart: {PRIV_NAMES[U]})", f"   retired {state.retired:,}"):
        if text.cell_len + len(extra) <= width:
            text.append(extra, style="dim")
    return text


def register_lines(state: HartState, marked: frozenset[str], width: int) -> list[Text]:
    """x1..x31 by ABI name, down as many columns as fit."""
    columns = register_columns(width)
    rows = -(-31 // columns)
    lines = []
    for row in range(rows):
        line = Text(no_wrap=True, overflow="crop")
        for column in range(columns):
            number = 1 + column * rows + row
            if number > 31:
                break
            if column:
                line.append(" " * GAP)
            name = ABI_NAMES[number]
            line.append(f"{name:<3} ", style="bold")
            _value(line, state.x[number], name in marked)
        lines.append(line)
    return lines


def csr_lines(name: str, value: int, marked: frozenset[str], width: int) -> list[Text]:
    """One CSR: its name, value and fields, the fields wrapping under each other (a
    group of fields kept on one line where it fits)."""
    indent = CSR_NAME + 10 + 2
    room = max(12, width - indent)
    line = Text(no_wrap=True, overflow="crop")
    line.append(f"{name:<{CSR_NAME}}", style="bold")
    _value(line, value, name in marked)
    lines = [line]
    fields = decode(name, value)
    if not fields:
        return lines
    line.append("  ")
    used = 0  # cells of fields on the current line
    groups: dict[int, list] = {}
    for field in fields:
        groups.setdefault(field.group, []).append(field)
    for group in groups.values():
        group_width = sum(len(f.text) for f in group) + len(group) - 1
        if used and used + 1 + group_width > room:
            line = Text(" " * indent, no_wrap=True, overflow="crop")
            lines.append(line)
            used = 0
        for field in group:
            if used and used + 1 + len(field.text) > room:
                line = Text(" " * indent, no_wrap=True, overflow="crop")
                lines.append(line)
                used = 0
            if used:
                line.append(" ")
                used += 1
            style = MARK if f"{name}.{field.name}" in marked else ("" if field.set else "dim")
            line.append(field.text, style=style)
            used += len(field.text)
    return lines


def hart_text(state: HartState, marked: frozenset[str], width: int) -> Text:
    """The whole pane for a `width`-cell wide view."""
    lines = [headline(state, marked, width), *register_lines(state, marked, width), Text()]
    for name, value in zip(SHOWN_CSRS, state.csrs, strict=True):
        lines.extend(csr_lines(name, value, marked, width))
    return Text("\n", no_wrap=True).join(lines)


class RegistersPane(VerticalScroll):
    """The selected guest's virtual hart, what changed marked.  It scrolls (Alt+V
    gives it the keyboard)."""

    DEFAULT_CSS = """
    RegistersPane { height: 1fr; }
    RegistersPane #regs-body { width: 1fr; height: auto; }
    """

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None
        self.marked: frozenset[str] = frozenset()  # what the pane marks as changed now
        self.state: HartState | None = None  # the state shown
        # What the pane last showed of each guest, so coming back to one marks what
        # changed meanwhile (weak: a removed guest goes; one added under its name is new).
        self._seen: WeakKeyDictionary[Guest, HartState] = WeakKeyDictionary()
        self._drawn: tuple = ()  # (guest, state, width) the text was made for
        self._at = -1e9  # when a running guest was last drawn
        self._text = Text()
        self._ready = False

    def compose(self) -> ComposeResult:
        yield Static(id="regs-body")

    def on_mount(self) -> None:
        self._body = self.query_one("#regs-body", Static)
        self._ready = True
        self.refresh_from_session()

    def on_show(self) -> None:
        self._at = -1e9
        self.refresh_from_session()

    def on_resize(self) -> None:
        self.refresh_from_session()

    def keyboard_widget(self) -> Widget:
        """What takes the keyboard when the pane is given it (the pane itself: it scrolls)."""
        return self

    def show(self, name: str) -> None:
        self.guest_name = name
        self._at = -1e9
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        if not self._ready or not on_display(self):
            return
        guest = self.session.guest(self.guest_name) if self.guest_name else None
        width = self.scrollable_content_region.width or 80
        if guest is None:
            if self._drawn != (None, None, width):
                self._drawn = (None, None, width)
                self.state, self.marked = None, frozenset()
                self._set(Text("no guest selected", style="dim"))
            return
        state = guest.hart_state()
        if (guest, state, width) == self._drawn:
            return
        now = time.monotonic()
        if guest.state is GuestState.RUNNING and now - self._at < RUNNING_INTERVAL_S:
            return
        self._at = now
        if self._drawn[:2] != (guest, state):
            self.marked = state.changes(self._seen.get(guest))
            self._seen[guest] = state
        self.state = state
        self._drawn = (guest, state, width)
        self._set(hart_text(state, self.marked, width))

    def _set(self, text: Text) -> None:
        self._text = text
        self._body.update(text)

    # --- for tests ---------------------------------------------------------------------

    def text(self) -> str:
        """The pane as plain text."""
        return self._text.plain

    def marked_text(self) -> list[str]:
        """The pieces of text drawn marked as changed, in order."""
        plain = self._text.plain
        return [plain[span.start : span.end] for span in self._text.spans if span.style == MARK]
