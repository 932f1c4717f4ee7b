"""The pane bar: in the stacked arrangement (a small terminal), which of the selected
guest's panes is on screen, which has the keyboard, and the keys that bring up the
others.  A click on a name shows that pane.

    ⌨ console unix │ memory map Alt+M │ exits Alt+X │ trap log Alt+T │ registers Alt+V

Where that does not fit (80 columns and a long guest name), the console's name goes
without the guest's: the guest list and the header name it too.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

# pane -> (its name on the bar, the key that shows it)
PANE_NAMES = {"console": ("console", "Alt+C"), "memory": ("memory map", "Alt+M"), "exits": ("exits", "Alt+X"),
              "traps": ("trap log", "Alt+T"), "registers": ("registers", "Alt+V")}  # fmt: skip
KEYBOARD = "⌨ "
SEPARATOR = " │ "


def bar_text(shown: str, keyboard: str | None, guest: str | None,
             width: int | None = None) -> tuple[Text, list[tuple[int, int, str]]]:  # fmt: skip
    """The bar's text, and where each pane's name is on it: (start, end, pane); in
    `width` cells, if given, without the guest's name when it would not fit."""
    if width is not None and guest:
        text, spans = bar_text(shown, keyboard, guest)
        if text.cell_len > width:
            return bar_text(shown, keyboard, None)
        return text, spans
    text = Text(no_wrap=True, overflow="ellipsis")
    spans = []
    for i, (pane, (name, key)) in enumerate(PANE_NAMES.items()):
        if i:
            text.append(SEPARATOR, style="dim")
        start = text.cell_len
        if pane == shown:
            label = f"{KEYBOARD if keyboard == pane else ''}{name}{f' {guest}' if guest and pane == 'console' else ''}"
            text.append(label, style="bold reverse" if keyboard == pane else "bold")
        else:
            text.append(name)
            text.append(f" {key}", style="dim")
        spans.append((start, text.cell_len, pane))
    return text, spans


class PaneBar(Widget, can_focus=False):
    """One line: the panes of the stacked arrangement."""

    DEFAULT_CSS = """
    PaneBar { height: 1; background: $panel; }
    """

    class Picked(Message):
        """A pane's name was clicked: show that pane."""

        def __init__(self, pane: str) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._state: tuple = ("console", "console", None)
        self._spans: list[tuple[int, int, str]] = []

    def show(self, shown: str, keyboard: str | None, guest: str | None) -> None:
        state = (shown, keyboard, guest)
        if state != self._state:
            self._state = state
            self.refresh()

    def render(self) -> Text:
        text, self._spans = bar_text(*self._state, width=self.size.width or None)
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, pane in self._spans:
            if start <= event.x < end:
                event.stop()
                self.post_message(self.Picked(pane))
                return
