"""The guest list, like virt-top: one line per guest, drawn from `Session.rows`.

It is plain text in fixed columns, painted only when a figure changes (a DataTable
re-renders every cell on each change, and `Static.update` lays out the whole
screen: at ten samples a second either costs more than the guests).  It shows
`visible_rows` guests at a time (the app sets it from the terminal's size) and
scrolls to keep the selected guest in view, as F2/F3 move the selection; the mouse
wheel scrolls it too, and its bottom border says how many guests are above and
below.  Where the guests' clocks follow the wall clock, an idle guest's uptime is
the only figure that moves: a line where nothing else changed is painted at most
once every `clock_only_every` seconds (each paint costs the compositor a pass over
the whole screen).  It never takes the keyboard focus (the console keeps it, so
typing always goes to the guest); a click on a line posts `GuestList.Selected`.
"""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tuivmm.lineup.packaged import VERDICTS
from tuivmm.ui.session import GuestRow

# (heading, width, right-aligned); the last column (why a guest stopped) takes what is left.
COLUMNS = (
    ("#", 2, True),
    ("guest", 16, False),
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

# A halted guest's verdict (eret-escape's ESCAPED or PROTECTED), where the list says why
# it stopped: green for the outcome one hopes for, red for the other.
VERDICT_STYLES = {word: "bold green" if good else "bold red" for rule in VERDICTS.values()
                  for word, good in rule.outcomes.items()}  # fmt: skip

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
        str(number),
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


UPTIME = [heading for heading, _, _ in COLUMNS].index("uptime")


def _only_uptime(new: list[str], old: list[str]) -> bool:
    """The two lines' cells are the same but for the uptime."""
    return new[:UPTIME] == old[:UPTIME] and new[UPTIME + 1 :] == old[UPTIME + 1 :]


# The columns a narrow list leaves out, first to last, to keep WHY_MIN for the last.
DROP_ORDER = ("RAM", "pc", "MIPS", "uptime", "priv")
WHY_MIN = 12


def shown_columns(width: int) -> list[int]:
    """Which COLUMNS a list `width` cells wide shows (their indices)."""
    shown = list(range(len(COLUMNS)))
    titles = [title for title, _, _ in COLUMNS]

    def needed() -> int:
        return sum(COLUMNS[i][1] + 2 for i in shown[:-1]) + WHY_MIN

    for title in DROP_ORDER:
        if needed() <= width:
            break
        shown.remove(titles.index(title))
    return shown


def _line(cells: list[str], columns: list[int], styles: list[str] | None = None) -> Text:
    line = Text()
    for n, i in enumerate(columns):
        _, width, right = COLUMNS[i]
        cell = cells[i]
        if n:
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
        self.visible_rows = 9  # guests shown at once
        self.top = 0  # the first guest shown
        self._shown: tuple[list[list[str]], str | None] = ([], None)  # each line's cells, the selected
        self._window: tuple[int, int] = (0, 0)
        self._strips: LRUCache[tuple, Strip] = LRUCache(256)  # lines drawn, by what they show
        self.clock_only_every = 0.0  # seconds between paints when only an uptime moved
        self.clock = time.monotonic
        self._painted_at = 0.0  # self.clock() at the last paint

    def show_rows(self, rows: list[GuestRow], selected: str | None) -> None:
        """Redraw from the session's rows, if anything changed (only the lines that
        did); scroll so the selected guest is in view if it was not."""
        shown = ([row_cells(n, row) for n, row in enumerate(rows, 1)], selected)
        names = [row.name for row in rows]
        moved = selected != self.selected or self.visible_rows != self._window[1] or len(names) != len(self.names)
        if moved and selected in names:  # a new selection, or a new size: the selected in view
            self._follow(names.index(selected), len(names))
        if shown == self._shown and (self.top, self.visible_rows) == self._window:
            return
        if names == self.names and selected == self.selected and (self.top, self.visible_rows) == self._window:
            # Only figures changed: repaint just those guests' lines.
            old = self._shown[0]
            now = self.clock()
            if now - self._painted_at < self.clock_only_every and all(
                _only_uptime(new, was) for new, was in zip(shown[0], old)
            ):
                return  # an idle guest's clock: later
            self._painted_at = now
            self._shown = shown
            width = self.size.width
            for i in range(self.top, min(len(names), self.top + self.visible_rows)):
                if shown[0][i] != old[i]:
                    self.refresh(Region(0, i - self.top + 1, width, 1))
            return
        self._shown = shown
        self.names = names
        self.selected = selected
        self._painted_at = self.clock()
        self._scroll_to(self.top)

    def _follow(self, index: int, count: int) -> None:
        if index < self.top:
            self.top = index
        elif index >= self.top + self.visible_rows:
            self.top = index - self.visible_rows + 1
        self.top = max(0, min(self.top, count - self.visible_rows))

    def _scroll_to(self, top: int) -> None:
        self.top = max(0, min(top, len(self.names) - self.visible_rows))
        self._window = (self.top, self.visible_rows)
        above, below = self.top, max(0, len(self.names) - self.top - self.visible_rows)
        parts = []
        if above:
            parts.append(f"▲ {above} more")
        if below:
            parts.append(f"▼ {below} more")
        self.border_subtitle = "  ".join(parts)
        self.refresh()

    def shown_names(self) -> list[str]:
        """The guests on screen now, top to bottom."""
        return self.names[self.top : self.top + self.visible_rows]

    def render_line(self, y: int) -> Strip:
        """Line y: the heading, then the guests in view (each drawn once per change)."""
        width = self.size.width
        columns = tuple(shown_columns(width or FULL_WIDTH))
        cells, selected = self._shown
        index = self.top + y - 1
        if y == 0:
            key: tuple = ("heading", columns, width)
        elif 0 <= index < len(self.names) and y <= self.visible_rows:
            key = (tuple(cells[index]), self.names[index] == selected, columns, width)
        else:
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(key)
        if strip is None:
            line = self._text(key, list(columns))
            strip = Strip(line.render(self.app.console), line.cell_len).crop_extend(0, width, self.rich_style)
            strip = strip.apply_style(self.rich_style)
            self._strips[key] = strip
        return strip

    def _text(self, key: tuple, columns: list[int]) -> Text:
        if key[0] == "heading":
            line = _line([name for name, _, _ in COLUMNS], columns)
            line.stylize(self.get_component_rich_style("guest-list--heading"))
            return line
        texts, is_selected = list(key[0]), key[1]
        state = texts[2]
        styles = [""] * len(COLUMNS)
        styles[2] = STATE_STYLES.get(state, "")
        styles[-1] = ("red" if state == "crashed" else VERDICT_STYLES.get(texts[-1], "dim") if state == "halted"
                      else "dim")  # fmt: skip
        line = _line(texts, columns, styles)
        if is_selected:
            highlight = self.get_component_rich_style("guest-list--selected")
            line.pad_right(FULL_WIDTH - line.cell_len)  # the band spans the list
            line.stylize(Style(bgcolor=highlight.bgcolor, bold=highlight.bold))  # keeps the state's colour
        return line

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def cells_of(self, name: str) -> list[str]:
        """What guest `name`'s line shows, column by column."""
        return self._shown[0][self.names.index(name)]

    def on_resize(self, event: events.Resize) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        index = self.top + event.y - self.gutter.top - 1  # the heading is line 0
        if self.top <= index < min(len(self.names), self.top + self.visible_rows):
            self.post_message(self.Selected(self.names[index]))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._scroll_to(self.top + 1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._scroll_to(self.top - 1)
