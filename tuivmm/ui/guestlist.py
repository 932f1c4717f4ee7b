"""The guest list, like virt-top: one line per guest, drawn from `Session.rows`.

It is plain text in fixed columns, painted only when a figure changes, and laid
out again only when a guest comes or goes (a DataTable re-renders every cell on
each change, and `Static.update` lays out the whole screen: at ten samples a
second either costs more than the guests).  It never takes the keyboard focus (the console keeps it, so
typing always goes to the guest); a click on a line posts `GuestList.Selected`.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from tuivmm.ui.session import GuestRow

# (heading, width, right-aligned); the last column (why a guest stopped) takes what is left.
COLUMNS = (
    ("#", 2, True),
    ("guest", 14, False),
    ("state", 11, False),
    ("priv", 4, False),
    ("pc", 8, False),
    ("MIPS", 6, True),
    ("exits/s", 8, True),
    ("RAM", 8, True),
    ("uptime", 9, True),
    ("remedy", 6, False),
    ("why", 0, False),
)

STATE_STYLES = {
    "running": "green",
    "idle": "cyan",
    "paused": "yellow",
    "halted": "blue",
    "crashed": "bold red",
    "stopped": "magenta",
    "stopped in debugger": "bold yellow",
}

# States too long for their column, as the list shows them.
SHORT_STATES = {"stopped in debugger": "in debugger"}

FULL_WIDTH = 512

# Rates mean something only while a guest may run.
LIVE_STATES = {"running", "idle"}


def duration(seconds: float) -> str:
    """The guest's virtual time, short: 12.34s, 3:07, 1:02:03."""
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def row_cells(number: int, row: GuestRow) -> list[str]:
    """The text of each column, in COLUMNS order."""
    live = row.state in LIVE_STATES
    return [
        str(number) if number <= 9 else "",
        row.name,
        SHORT_STATES.get(row.state, row.state),
        row.priv,
        f"{row.pc:08x}",
        f"{row.mips:.2f}" if live else "-",
        f"{row.exits_per_s:.0f}" if live else "-",
        f"{row.ram_mib} MiB",
        duration(row.uptime_s),
        row.remedy,
        row.reason,
    ]


def _line(cells: list[str], styles: list[str] | None = None) -> Text:
    line = Text()
    for i, (cell, (_, width, right)) in enumerate(zip(cells, COLUMNS, strict=True)):
        if i:
            line.append("  ")
        if width:
            cell = cell[:width].rjust(width) if right else cell[:width].ljust(width)
        line.append(cell, styles[i] if styles else "")
    return line


class GuestList(Widget, can_focus=False):
    """Name, state, virtual privilege, pc, guest MIPS, exits/s, RAM, uptime, remedy, why."""

    COMPONENT_CLASSES = {"guest-list--heading", "guest-list--selected"}

    class Selected(Message):
        """A guest's line was clicked: show this guest."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.names: list[str] = []
        self.selected: str | None = None
        self._shown: tuple[list[list[str]], str | None] = ([], None)  # each line's cells, the selected

    def show_rows(self, rows: list[GuestRow], selected: str | None) -> None:
        """Redraw from the session's rows, if anything changed."""
        shown = ([row_cells(n, row) for n, row in enumerate(rows, 1)], selected)
        if shown == self._shown:
            return
        relayout = len(rows) != len(self.names)  # the list's height changes
        self._shown = shown
        self.names = [row.name for row in rows]
        self.selected = selected
        self.refresh(layout=relayout)

    def render(self) -> Text:
        cells, selected = self._shown
        heading = self.get_component_rich_style("guest-list--heading")
        highlight = self.get_component_rich_style("guest-list--selected")
        lines = [_line([name for name, _, _ in COLUMNS])]
        lines[0].stylize(heading)
        for name, texts in zip(self.names, cells, strict=True):
            state = texts[2]
            styles = [""] * len(COLUMNS)
            styles[2] = STATE_STYLES.get(state, "")
            styles[-1] = "red" if state == "crashed" else "dim"
            line = _line(texts, styles)
            if name == selected:
                line.pad_right(FULL_WIDTH - line.cell_len)  # the band spans the list (tcss clips it)
                line.stylize(Style(bgcolor=highlight.bgcolor, bold=highlight.bold))  # keeps the state's colour
            lines.append(line)
        return Text("\n").join(lines)

    def cells_of(self, name: str) -> list[str]:
        """What guest `name`'s line shows, column by column."""
        return self._shown[0][self.names.index(name)]

    def on_click(self, event: events.Click) -> None:
        index = event.y - self.gutter.top - 1 + int(self.scroll_y)  # the heading is line 0
        if 0 <= index < len(self.names):
            self.post_message(self.Selected(self.names[index]))
