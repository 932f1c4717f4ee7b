"""A guest's console: its VT100 screen, and the keys typed into it.

`ConsolePane` shows one guest's `Terminal` (session.py) and sends every key typed
while it has the focus to that guest's UART — except function keys and Alt
combinations, which are the dashboard's own and bubble up to the app.
`ConsoleGrid` tiles every guest's console.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from tuivmm.ui.session import Session

# Keys that are not characters, as a VT100 sends them.
SPECIAL_KEYS = {
    "enter": b"\r", "backspace": b"\x7f", "tab": b"\t", "escape": b"\x1b",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F", "delete": b"\x1b[3~",
}  # fmt: skip


def key_bytes(event: events.Key) -> bytes | None:
    """What a terminal sends for this key, or None if the key is the app's."""
    key = event.key
    if key.startswith("f") and key[1:].isdigit() or key.startswith("alt+"):
        return None
    if key in SPECIAL_KEYS:
        return SPECIAL_KEYS[key]
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5]) & 0x1F])
    if event.character and event.is_printable:
        return event.character.encode()
    return None


def screen_text(session: Session, name: str) -> Text:
    terminal = session.terminals.get(name)
    return Text("\n".join(terminal.screen.display) if terminal else "")


class ConsolePane(Static, can_focus=True):
    """One guest's console."""

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None
        self._shown = (None, -1)

    def show(self, name: str) -> None:
        self.guest_name = name
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        name = self.guest_name
        terminal = self.session.terminals.get(name) if name else None
        state = (name, terminal.version if terminal else -1)
        if state != self._shown:
            self._shown = state
            self.update(screen_text(self.session, name) if name else Text(""))

    def on_key(self, event: events.Key) -> None:
        data = key_bytes(event)
        if data is None or self.guest_name is None:
            return
        event.stop()
        event.prevent_default()
        self.session.send_keys(self.guest_name, data)


class ConsoleGrid(Widget):
    """Every guest's console, tiled; a click picks one."""

    class Selected(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session

    def refresh_from_session(self) -> None:
        names = [g.name for g in self.session.guests]
        tiles = list(self.query(Static))
        if [t.name for t in tiles] != names:
            self.remove_children()
            self.mount_all(Static(name=n, classes="tile") for n in names)
            return
        for tile in tiles:
            tile.update(screen_text(self.session, tile.name))

    def on_click(self, event: events.Click) -> None:
        widget = event.widget
        if isinstance(widget, Static) and widget.name:
            self.post_message(self.Selected(widget.name))
