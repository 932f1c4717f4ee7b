"""A guest's console: its VT100 screen, and the keys typed into it.

`ConsolePane` shows one guest's `Terminal` (session.py) as a terminal emulator
does: every cell with its colours (pyte's named colours, 256-colour and truecolor),
bold, italics, underline, strike-through, blink and reverse video, and the cursor
as a reverse-video cell while the pane has the focus.  The guest's screen is kept
the pane's size, so what the guest prints wraps at the pane's width.  Every key
typed while the pane has the focus goes to the guest's UART as a VT100 keyboard
sends it (Enter CR, Backspace DEL, arrows ESC [ A..D, Ctrl+letter the control
character, ...), and so does pasted text — except function keys and Alt
combinations, which are the dashboard's own and bubble up to the app's bindings.

`ConsoleGrid` tiles every guest's console (each tile the guest's screen cut to
the tile, its bottom lines kept; the guest's name as the tile's border title, and
its state as the subtitle; the tile's `name` is the guest's); a click on a tile
posts `ConsoleGrid.Selected`.

Both draw line by line (`render_line`) and stay cheap when the app polls them
(`refresh_from_session`, about 10 Hz): nothing happens unless the guest's
`Terminal.version` moved, and then only the lines the guest changed
(`Terminal.line_versions`, from pyte's dirty set) and the cursor's are redrawn.
"""

from __future__ import annotations

import asyncio
import math
import time
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tuivmm.ui.session import Session, Terminal

# --- keys ---------------------------------------------------------------------------

# Keys that are not characters, as a VT100 (xterm) sends them.
SPECIAL_KEYS = {
    "enter": b"\r", "backspace": b"\x7f", "tab": b"\t", "escape": b"\x1b",
    "shift+tab": b"\x1b[Z",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F", "insert": b"\x1b[2~", "delete": b"\x1b[3~",
    "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
    "space": b" ",
    # Control characters that are not Ctrl+letter (Textual's names for them).
    "ctrl+@": b"\x00", "ctrl+space": b"\x00", "ctrl+backslash": b"\x1c",
    "ctrl+right_square_bracket": b"\x1d", "ctrl+circumflex_accent": b"\x1e",
    "ctrl+underscore": b"\x1f",
}  # fmt: skip

_APP_MODIFIERS = ("alt", "meta", "super", "hyper")


def _is_function_key(name: str) -> bool:
    return len(name) > 1 and name[0] == "f" and name[1:].isdigit()


def key_bytes(event: events.Key) -> bytes | None:
    """What a terminal sends for this key, or None if the key is the app's (function
    keys and Alt/Meta/Super combinations, with any modifiers) or means nothing to a
    terminal."""
    key = event.key
    *modifiers, name = key.split("+")  # Textual spells "+" itself "plus"
    if _is_function_key(name) or any(m in _APP_MODIFIERS for m in modifiers):
        return None
    if key in SPECIAL_KEYS:
        return SPECIAL_KEYS[key]
    if modifiers == ["ctrl"] and len(name) == 1 and name.isalpha():
        return bytes([ord(name) & 0x1F])
    character = event.character
    if character and modifiers[:1] == ["ctrl"] and len(character) == 1 and ord(character) < 0x20:
        return character.encode()
    if character and event.is_printable:
        return character.encode()
    return None


def paste_bytes(text: str) -> bytes:
    """Pasted text as typed: each line ended with Enter (CR)."""
    return text.replace("\r\n", "\r").replace("\n", "\r").encode()


# --- cells ------------------------------------------------------------------------------

# pyte's colour names (its own spelling: "brown" is yellow; 0.8 spells one "bfight").
_NAMED_COLOURS = {
    "black": "black", "red": "red", "green": "green", "brown": "yellow", "yellow": "yellow",
    "blue": "blue", "magenta": "magenta", "cyan": "cyan", "white": "white",
}  # fmt: skip
_NAMED_COLOURS.update({f"bright{k}": f"bright_{v}" for k, v in _NAMED_COLOURS.items()})
_NAMED_COLOURS["bfightmagenta"] = "bright_magenta"
_HEX = frozenset("0123456789abcdefABCDEF")


def pyte_colour(name: str) -> str | None:
    """A pyte colour (a name, or six hex digits for 256-colour and truecolor) as Rich
    spells it; None for the default colour."""
    if name in _NAMED_COLOURS:
        return _NAMED_COLOURS[name]
    if len(name) == 6 and _HEX.issuperset(name):
        return "#" + name.lower()
    return None


@lru_cache(maxsize=4096)
def cell_style(fg: str, bg: str, bold: bool, italics: bool, underscore: bool, strikethrough: bool,
               reverse: bool, blink: bool = False) -> Style:  # fmt: skip
    """The Rich style of a pyte cell's attributes (pyte's Char fields after `data`)."""
    return Style(color=pyte_colour(fg), bgcolor=pyte_colour(bg), bold=bold or None, italic=italics or None,
                 underline=underscore or None, strike=strikethrough or None, reverse=reverse or None,
                 blink=blink or None)  # fmt: skip


_CURSOR_ATTRS: dict[tuple, tuple] = {}


def _with_cursor(attrs: tuple) -> tuple:
    """The attributes with reverse video toggled (pyte Char order: fg, bg, bold,
    italics, underscore, strikethrough, reverse, blink)."""
    flipped = _CURSOR_ATTRS.get(attrs)
    if flipped is None:
        flipped = _CURSOR_ATTRS[attrs] = (*attrs[:6], not attrs[6], *attrs[7:])
    return flipped


def render_row(screen, y: int, width: int, cursor_x: int = -1) -> Strip:
    """Line y of a pyte screen as a Strip `width` cells long (cut or padded), the cell
    at `cursor_x` (if any) in reverse video."""
    row = screen.buffer.get(y)
    columns = min(screen.columns, width)
    if not row and not 0 <= cursor_x < columns:
        return Strip.blank(width)
    default = screen.default_char
    if not row:
        row = {}
    segments: list[Segment] = []
    append = segments.append
    text: list[str] = []
    run = None
    for x in range(columns):
        char = row.get(x, default)
        data = char.data
        if not data:  # the second half of a wide character
            continue
        attrs = char[1:]
        if x == cursor_x:
            attrs = _with_cursor(attrs)
        if attrs != run:
            if text:
                append(Segment("".join(text), cell_style(*run)))
                text = []
            run = attrs
        text.append(data)
    if text:
        append(Segment("".join(text), cell_style(*run)))
    return Strip(segments).adjust_cell_length(width)


# --- the views ----------------------------------------------------------------------------


class TerminalView(Widget):
    """A guest's Terminal drawn line by line; what ConsolePane and the grid's tiles share.

    The guest's screen line `top + y` is the widget's line y.  `refresh_from_session`
    compares the Terminal's versions with those drawn and asks Textual to repaint only
    the lines that changed (and the cursor's old and new line)."""

    DEFAULT_CSS = """
    TerminalView {
        background: $background;
        color: $foreground;
    }
    """

    def __init__(self, session: Session, guest: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = guest
        self.terminal: Terminal | None = None
        self.redraws = 0  # lines drawn (for tests and the bench)
        self._version = -1  # the Terminal's version last looked at
        self._seen: list[int] = []  # its line_versions then
        self._geometry: tuple = ()  # (columns, lines, top, width) last drawn at
        self._cursor: tuple[int, int] | None = None  # the cursor drawn, (x, y) on the guest's screen
        self._cursor_on = False  # whether the cursor was to be drawn then
        self._strips: dict[int, Strip] = {}  # guest screen line -> strip drawn

    # -- what subclasses decide --

    def cursor_visible(self) -> bool:
        return False

    def top_line(self, screen) -> int:
        return 0

    # -- syncing --

    def show(self, name: str | None) -> None:
        """Show this guest's console."""
        self.guest_name = name
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        """Redraw whatever the guest changed since the last call; cheap if nothing did."""
        terminal = self.session.terminals.get(self.guest_name) if self.guest_name else None
        if terminal is not self.terminal:
            self.terminal = terminal
            self._version = -1
            self._attached(terminal)
        if terminal is None:
            if self._geometry:
                self._geometry, self._strips = (), {}
                self.refresh()
            return
        cursor_on = self.cursor_visible()
        if terminal.version == self._version and cursor_on == self._cursor_on:
            return
        screen = terminal.screen
        self._version, self._cursor_on = terminal.version, cursor_on
        cursor = (screen.cursor.x, screen.cursor.y) if cursor_on and not screen.cursor.hidden else None
        width, height = self.size
        geometry = (screen.columns, screen.lines, self.top_line(screen), width)
        versions = terminal.line_versions
        if geometry != self._geometry or len(self._seen) != len(versions):
            self._geometry, self._seen, self._cursor = geometry, list(versions), cursor
            self._strips.clear()
            self.refresh()
            return
        seen = self._seen
        changed = {y for y, v in enumerate(versions) if v != seen[y]}
        self._seen = list(versions)
        if cursor != self._cursor:
            changed.update(c[1] for c in (self._cursor, cursor) if c is not None)
            self._cursor = cursor
        top = geometry[2]
        for y in changed:
            self._strips.pop(y, None)
        rows = [y - top for y in changed if 0 <= y - top < height]
        if len(rows) > height // 2:
            self.refresh()
        else:
            for row in rows:
                self.refresh(Region(0, row, width, 1))

    def _attached(self, terminal: Terminal | None) -> None:
        """A new Terminal is shown."""
        self._geometry, self._strips, self._cursor = (), {}, None

    # -- drawing --

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        terminal = self.terminal
        if terminal is None or not self._geometry:
            return Strip.blank(width)
        screen = terminal.screen
        line = y + self._geometry[2]
        if line >= screen.lines:
            return Strip.blank(width)
        strip = self._strips.get(line)
        if strip is None or strip.cell_length != width:
            cursor_x = self._cursor[0] if self._cursor is not None and self._cursor[1] == line else -1
            strip = self._strips[line] = render_row(screen, line, width, cursor_x)
            self.redraws += 1
            self._drawn(line)
        return strip

    def _drawn(self, line: int) -> None:
        """Line `line` of the guest's screen was drawn afresh (ConsolePane: a keystroke's echo)."""

    def on_resize(self, event: events.Resize) -> None:
        self._resized()

    def _resized(self) -> None:
        self._version = -1
        self.refresh_from_session()


class GuestKeys:
    """What a widget that types into a guest does (the console, and the grid for the
    selected guest): every key a terminal would send goes to the guest's UART, as
    does pasted text; function keys and Alt combinations bubble up to the app.  For a
    moment after each key the widget looks at the screen every few milliseconds, so
    the echo shows at once, not at the app's next tick."""

    TYPING_POLL = 0.002  # seconds between looks at the screen just after a key
    TYPING_WINDOW = 0.5  # ... for this long

    session: Session
    _typing_until = 0.0
    _typing_handle: asyncio.TimerHandle | None = None
    _keyed: tuple[str, int] | None = None  # the guest a key went to, and its Terminal's version then

    def echo_drawn(self, name: str, version: int) -> None:
        """A line of guest `name`'s screen at `version` was just drawn: if that shows
        what came after the last key (its echo), the keystroke is on the screen, and
        the other guests need not wait for it any more."""
        if self._keyed is not None and self._keyed[0] == name and version > self._keyed[1]:
            self._keyed = None
            self.session.keystroke_shown()

    def keyboard_guest(self) -> str | None:
        """The guest the keys go to."""
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        name = self.keyboard_guest()
        if name is None:
            return
        terminal = self.session.terminals.get(name)
        self._keyed = (name, terminal.version if terminal is not None else -1)
        self.session.send_keys(name, data)
        # A bare loop callback, not a Textual timer: with busy guests on the loop every
        # hop through a message queue costs a round of slices.
        self._typing_until = time.monotonic() + self.TYPING_WINDOW
        if self._typing_handle is None:
            self._typing_handle = asyncio.get_running_loop().call_later(self.TYPING_POLL, self._typing_tick)

    def _typing_tick(self) -> None:
        self._typing_handle = None
        if not self.is_attached:
            return
        self.refresh_from_session()
        if self._keyed is not None and self.session.terminals[self._keyed[0]].version > self._keyed[1]:
            self._paint_now()  # the echo has come: on the screen with it, not at the next frame
        if time.monotonic() < self._typing_until:
            self._typing_handle = asyncio.get_running_loop().call_later(self.TYPING_POLL, self._typing_tick)

    def _paint_now(self) -> None:
        """Paint what is waiting to be painted now.  Textual paints at its next frame
        (up to 1/60 s, and a hop through the loop behind every busy guest's slice);
        the screen's own frame callback does it at once.  (A private method of the
        pinned Textual; without it, the next frame does it, as for any widget.)"""
        paint = getattr(self.screen, "_on_timer_update", None)
        if paint is not None:
            paint()

    def on_unmount(self) -> None:
        if self._typing_handle is not None:
            self._typing_handle.cancel()
            self._typing_handle = None

    def on_key(self, event: events.Key) -> None:
        data = key_bytes(event)
        if data is None or self.keyboard_guest() is None:
            return  # the app's: let it bubble to the bindings
        event.stop()
        event.prevent_default()
        self.send(data)

    def on_paste(self, event: events.Paste) -> None:
        if self.keyboard_guest() is None or not event.text:
            return
        event.stop()
        self.send(paste_bytes(event.text))


class ConsolePane(GuestKeys, TerminalView, can_focus=True):
    """One guest's console, the keyboard's while it has the focus."""

    DEFAULT_CSS = """
    ConsolePane {
        height: 1fr;
        width: 1fr;
    }
    """

    def keyboard_guest(self) -> str | None:
        return self.guest_name

    def cursor_visible(self) -> bool:
        return self.has_focus

    def _drawn(self, line: int) -> None:
        if self.terminal is not None and line == self.terminal.screen.cursor.y:
            self.echo_drawn(self.guest_name, self._version)

    def _attached(self, terminal: Terminal | None) -> None:
        super()._attached(terminal)
        self._fit(terminal)

    def _fit(self, terminal: Terminal | None) -> None:
        """The guest's screen takes the pane's size, as a terminal window's does."""
        width, height = self.size
        if terminal is not None and width > 0 and height > 0:
            terminal.resize(width, height)

    def _resized(self) -> None:
        self._fit(self.terminal)
        super()._resized()

    # Widget's own handlers, which set has_focus, run after these: look once they have.
    def on_focus(self, event: events.Focus) -> None:
        self.call_later(self.refresh_from_session)

    def on_blur(self, event: events.Blur) -> None:
        self.call_later(self.refresh_from_session)


def wrap_points(text: str, width: int) -> list[tuple[int, int]]:
    """Where a line of `text` breaks to fit `width` columns, as a terminal window too
    narrow for it would show it if it wrapped at words: (start, end) column pairs.
    A line that fits is one pair; an empty line is (0, 0)."""
    text = text.rstrip()
    if width <= 0:
        return [(0, len(text))]
    pieces = []
    start = 0
    while len(text) - start > width:
        cut = text.rfind(" ", start, start + width + 1)
        end = cut + 1 if cut > start + width // 3 else start + width  # at a space, unless too early
        pieces.append((start, end))
        start = end
        while start < len(text) and text[start] == " " and len(text) - start > width:
            start += 1
    pieces.append((start, len(text)))
    return pieces


class ConsoleTile(TerminalView):
    """One guest's console in the grid: the bottom of its screen, each line wrapped at
    words to the tile's width (a tile is often narrower than the guest's screen)."""

    DEFAULT_CSS = """
    ConsoleTile {
        border: round $primary-darken-2;
        border-title-color: $text;
        height: 1fr;
        width: 1fr;
    }
    ConsoleTile:hover {
        border: round $accent;
    }
    """

    def __init__(self, session: Session, guest: str, **kwargs):
        kwargs.setdefault("classes", "tile")
        super().__init__(session, guest, name=guest, **kwargs)
        self.border_title = guest
        self._state = ""
        self._rows: list[tuple[int, int, int]] = []  # each drawn line: (guest line, start, end column)

    def refresh_from_session(self) -> None:
        guest = self.session.guest(self.guest_name) if self.guest_name else None
        state = "removed" if guest is None else guest.state.value
        if state != self._state:
            self._state = self.border_subtitle = state
        terminal = self.session.terminals.get(self.guest_name) if self.guest_name else None
        if terminal is not self.terminal:
            self.terminal = terminal
            self._version = -1
        if terminal is None:
            if self._rows:
                self._rows = []
                self.refresh()
            return
        geometry = (self.size.width, self.size.height)
        if terminal.version == self._version and geometry == self._geometry:
            return
        self._version, self._geometry = terminal.version, geometry
        self._rows = self._wrapped_rows(terminal.screen, *geometry)
        self.refresh()

    @staticmethod
    def _wrapped_rows(screen, width: int, height: int) -> list[tuple[int, int, int]]:
        """The last `height` lines of the screen up to the cursor's, wrapped to `width`."""
        rows: list[tuple[int, int, int]] = []
        display = screen.display
        for y in range(min(screen.cursor.y, screen.lines - 1), -1, -1):
            pieces = wrap_points(display[y], width)
            rows[:0] = [(y, start, end) for start, end in pieces]
            if len(rows) >= height:
                break
        # Blank lines at the top of the screen (a fresh guest) are not worth a row.
        while rows and len(rows) > height:
            rows.pop(0)
        return rows

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.terminal is None or y >= len(self._rows):
            return Strip.blank(width)
        line, start, end = self._rows[y]
        screen = self.terminal.screen
        strip = render_row(screen, line, screen.columns)
        return strip.crop(start, end).adjust_cell_length(width)


class ConsoleGrid(GuestKeys, Widget, can_focus=True):
    """Every guest's console, tiled; the keyboard goes to the selected guest (its tile
    is marked), a click on a tile picks that guest."""

    DEFAULT_CSS = """
    ConsoleGrid {
        layout: grid;
        grid-size: 2;
        height: 1fr;
        width: 1fr;
    }
    """

    TILE_WIDTH = 82  # a guest's 80 columns and the tile's border: what a tile would like
    TILE_HEIGHT = 12  # ... and the lines it would like at least

    class Selected(Message):
        """A tile was clicked: show this guest."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.tiles: dict[str, ConsoleTile] = {}
        self.selected: str | None = None  # the guest the keys go to
        self._shape: tuple = ()

    def keyboard_guest(self) -> str | None:
        return self.selected

    def on_mount(self) -> None:
        self.refresh_from_session()

    def on_resize(self, event: events.Resize) -> None:
        self._reshape()

    def refresh_from_session(self) -> None:
        names = [g.name for g in self.session.guests]
        if list(self.tiles) != names:
            self._retile(names)
        for tile in self.tiles.values():
            tile.refresh_from_session()

    def _retile(self, names: list[str]) -> None:
        # Guests come and go at the end of the list or from the middle, never move:
        # removing the gone and appending the new keeps the guests' order.
        for name in [n for n in self.tiles if n not in names]:
            self.tiles.pop(name).remove()
        new = [ConsoleTile(self.session, name) for name in names if name not in self.tiles]
        self.tiles.update((tile.guest_name, tile) for tile in new)
        self.tiles = {name: self.tiles[name] for name in names}
        if new:
            self.mount_all(new)
        self._reshape()

    def _reshape(self) -> None:
        columns, rows = grid_shape(len(self.tiles), self.size.width, self.size.height,
                                   self.TILE_WIDTH, self.TILE_HEIGHT)  # fmt: skip
        if (columns, rows) != self._shape:
            self._shape = (columns, rows)
            self.styles.grid_size_columns = columns
            self.styles.grid_size_rows = rows

    def on_click(self, event: events.Click) -> None:
        widget = event.widget
        while widget is not None and widget is not self and not isinstance(widget, ConsoleTile):
            widget = widget.parent
        if isinstance(widget, ConsoleTile) and widget.guest_name:
            event.stop()
            self.post_message(self.Selected(widget.guest_name))


def grid_shape(tiles: int, width: int, height: int, tile_width: int, tile_height: int) -> tuple[int, int]:
    """(columns, rows) for `tiles` tiles in width x height cells: the number of
    columns that leaves each tile the most of what it would like (tile_width x
    tile_height); lines count for more than columns, which wrapping makes up for."""
    tiles = max(1, tiles)
    if width <= 0 or height <= 0:
        columns = max(1, math.ceil(math.sqrt(tiles)))
        return columns, max(1, math.ceil(tiles / columns))
    best, best_score = 1, -1.0
    for columns in range(1, tiles + 1):
        rows = math.ceil(tiles / columns)
        wide = min(width / columns / tile_width, 1.0)
        tall = min(height / rows / tile_height, 1.0)
        score = wide**0.75 * tall
        if score > best_score + 1e-9:
            best, best_score = columns, score
    return best, math.ceil(tiles / best)
