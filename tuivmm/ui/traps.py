"""The trap log pane (the exit counters beside it are in counters.py).

`TrapLogPane`: every exit the VMM handles, live, newest at the bottom, one line each
(guest, virtual time, pc, privilege, instruction, cause, action and its detail).  It
follows the newest line unless the user scrolls up; it then holds still until they
scroll back to the bottom (or press End, or f).  Filters: the selected guest or all,
what the VMM did or the exit kind (traplog.FILTERS), and a text; a selected line
opens in the trap inspector (inspector.py).  Each refresh appends only the events newer than the
last one looked at (the VMM-wide sequence numbers), in one batch; the widget keeps at
most MAX_LINES events and turns one into text only when its line is drawn.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable

from rich.text import Span, Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static

from machine.clock import TIMEBASE_HZ
from machine.cpu.csrs import CAUSE_NAMES, INTERRUPT_NAMES, PRIV_NAMES, cause_name
from machine.cpu.disasm import disassemble
from tuivmm.ui.memory import on_display
from tuivmm.ui.session import Session
from tuivmm.ui.tick import Tick
from tuivmm.ui.words import plural
from tuivmm.vmm import traplog as T
from tuivmm.vmm.traplog import TrapEvent

MAX_LINES = 2000

REASON_STYLES = {
    T.CSR: "cyan", T.XRET: "bold magenta", T.WFI: "grey50", T.SFENCE: "yellow", T.ECALL: "green",
    T.EXCEPTION: "red", T.PAGE_FAULT: "dodger_blue1", T.MMIO: "dark_orange", T.HYPERCALL: "bright_green",
    T.INTERRUPT: "bright_magenta",
}  # fmt: skip
ACTION_STYLES = {T.TRUE: "bold red", T.CRASHED: "bold white on red", T.HIDDEN: "dim", T.INJECTED: "bold"}

# (title, width) of each column; the last (detail) takes what is left.  A guest's name
# has at most 16 characters; the cause column fits the longest cause's name.
CAUSE_WIDTH = max(len(name) for name in (*CAUSE_NAMES.values(), *INTERRUPT_NAMES.values()))
COLUMNS = (("guest", 16), ("time (s)", 11), ("pc", 8), ("p", 1), ("instruction", 26), ("cause", CAUSE_WIDTH),
           ("action", 12), ("detail", 0))  # fmt: skip


# --- small pure helpers -------------------------------------------------------------------


def _cell(text: str, width: int) -> str:
    return f"{text:<{width}.{width}}" if width else text


def header_line() -> Text:
    return Text(" ".join(_cell(title, width) for title, width in COLUMNS).rstrip(), style="bold underline")


@functools.lru_cache(maxsize=4096)
def _insn_text(insn: int, pc: int) -> str:
    return disassemble(insn, pc).replace("\t", " ") if insn else "-"


_W = [width for _, width in COLUMNS]
_HEAD_WIDTH = sum(w + 1 for w in _W[:6])  # up to the action column
HEADER = header_line()
_CAUSE_AT = sum(w + 1 for w in _W[:5])  # where the cause column starts
_PRIV_AT = sum(w + 1 for w in _W[:3])


def _event_plain(e: TrapEvent) -> tuple[str, int]:
    """The line's text, and where its detail starts (0 if none)."""
    w = _W
    if e.reason == T.RESET:
        return f"{e.guest:<{w[0]}.{w[0]}} {e.time / TIMEBASE_HZ:>{w[1]}.6f} {e.note}", 0
    head = (f"{e.guest:<{w[0]}.{w[0]}} {e.time / TIMEBASE_HZ:>{w[1]}.6f} {e.pc:08x} "
            f"{PRIV_NAMES.get(e.priv, '?'):<{w[3]}.{w[3]}} {_insn_text(e.insn, e.pc):<{w[4]}.{w[4]}} "
            f"{cause_name(e.cause):<{w[5]}.{w[5]}} ")  # fmt: skip
    if not e.detail:
        return head + e.action, 0
    head += f"{e.action:<{w[6]}.{w[6]}} "
    return head + e.detail, len(head)


def event_lines(events: Iterable[TrapEvent]) -> Text:
    """Events as trap-log lines (COLUMNS), one Text with a line each: built in one go,
    with its styles as spans, as a batch of hundreds must be cheap."""
    parts: list[str] = []
    spans: list[Span] = []
    at = 0
    cause_end = _CAUSE_AT + _W[5]
    for e in events:
        plain, detail = _event_plain(e)
        parts.append(plain)
        if e.reason == T.RESET:
            spans.append(Span(at, at + len(plain), "bold yellow"))
            at += len(plain) + 1
            continue
        spans.append(Span(at, at + _W[0], "bold"))
        spans.append(Span(at + _PRIV_AT, at + _PRIV_AT + 1, "bold"))
        style = REASON_STYLES.get(e.reason)
        if style:
            spans.append(Span(at + _CAUSE_AT, at + cause_end, style))
        style = ACTION_STYLES.get(e.action)
        if style:
            spans.append(Span(at + cause_end + 1, at + cause_end + 1 + len(e.action), style))
        if detail:
            spans.append(Span(at + detail, at + len(plain), "dim"))
        at += len(plain) + 1
    return Text("\n".join(parts), spans=spans, no_wrap=True, end="")


def event_line(e: TrapEvent) -> Text:
    """One event as a trap-log line."""
    return event_lines([e])


def text_match(text: str) -> Callable[[TrapEvent], bool]:
    """Whether an event's line, as the log shows it, holds `text` (any case)."""
    wanted = text.casefold()
    return lambda e: wanted in _event_plain(e)[0].casefold()


def event_filter(key: str | None, text: str = "") -> Callable[[TrapEvent], bool] | None:
    """The events a filter (traplog.FILTERS' key, or None for all) and a text choose;
    None when they choose every event."""
    chosen = T.FILTER_BY_KEY[key].match if key else None
    if not text:
        return chosen
    has_text = text_match(text)
    return has_text if chosen is None else (lambda e: chosen(e) and has_text(e))


def newer_events(logs: Iterable[T.TrapLog], after: int, reason: str | None = None,
                 limit: int = MAX_LINES) -> list[TrapEvent]:  # fmt: skip
    """The events of `logs` with a sequence number above `after` (and of `reason`, if
    given), the newest `limit` of them, in order.  Reads each log from its newest
    event back, so it costs what is new, not what is kept."""
    return newer_events_cut(logs, after, reason, limit)[0]


def newer_events_cut(logs: Iterable[T.TrapLog], after: int, reason: str | None = None,
                     limit: int = MAX_LINES, match: Callable[[TrapEvent], bool] | None = None,
                     ) -> tuple[list[TrapEvent], bool]:  # fmt: skip
    """newer_events, and whether older ones that would match were left out for `limit`.
    `match`, if given, chooses the events instead of `reason`."""
    if match is None and reason is not None:
        match = T.FILTER_BY_KEY[reason].match
    cut = False
    found: list[TrapEvent] = []
    for log in logs:
        events = log.events
        if not events or events[-1].seq <= after:
            continue
        taken = 0
        for e in reversed(events):
            if e.seq <= after:
                break
            if match is None or match(e):
                if taken >= limit:  # one more than the limit: older ones are left out
                    cut = True
                    break
                found.append(e)
                taken += 1
    found.sort(key=lambda e: e.seq)
    return found[-limit:], cut or len(found) > limit


# --- the trap log --------------------------------------------------------------------------


class TrapLines(ScrollView, can_focus=True):
    """The log's lines: the events themselves, at most `max_lines` of them, turned
    into text only when a line is drawn (Textual's line API), under a header that
    stays put.  `following` is whether it stays at the newest: a scroll that leaves
    it above the bottom stops following, reaching the bottom again resumes."""

    DEFAULT_CSS = """
    TrapLines { background: $surface; }
    TrapLines:focus { background-tint: $foreground 5%; }
    """

    BINDINGS = [
        Binding("slash", "find", "Find text", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("enter", "open", "Open", show=False),
    ]

    following: var[bool] = var(True)
    cursor: var[int | None] = var(None)  # the selected line (index into events), if any

    class Open(Message):
        """Open this event in the trap inspector."""

        def __init__(self, event: TrapEvent) -> None:
            super().__init__()
            self.event = event

    def __init__(self, max_lines: int = MAX_LINES, **kwargs):
        super().__init__(**kwargs)
        self.events: deque[TrapEvent] = deque(maxlen=max_lines)
        self._first = 0  # how many events have left the top so far (cache keys stay valid)
        self._width = len(HEADER.plain)
        self._cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)

    def append(self, events: list[TrapEvent]) -> int:
        """Add events at the bottom; returns how many old ones left the top."""
        before = len(self.events)
        self.events.extend(events)
        trimmed = before + len(events) - len(self.events)
        self._first += trimmed
        if trimmed and self.cursor is not None:
            self.cursor = max(0, self.cursor - trimmed)
        for e in events:
            width = _HEAD_WIDTH + len(e.action) + (len(e.detail) + 1 if e.detail else 0)
            self._width = max(self._width, width)
        self.virtual_size = Size(self._width, len(self.events) + 1)
        self.refresh()
        return trimmed

    def clear(self) -> None:
        self.cursor = None
        self.events.clear()
        self._cache.clear()
        self._first = 0
        self._width = len(HEADER.plain)
        self.virtual_size = Size(self._width, 1)
        self.refresh()

    @property
    def dropped(self) -> int:
        """How many events left the top since the log was last cleared."""
        return self._first

    def line_texts(self) -> list[str]:
        """Every line's text (for tests)."""
        return [_event_plain(e)[0] for e in self.events]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            return self._strip(HEADER, scroll_x, width, self.rich_style)
        index = scroll_y + y - 1
        if index >= len(self.events):
            return Strip.blank(width, self.rich_style)
        selected = index == self.cursor
        key = (self._first + index, scroll_x, width, selected)
        strip = self._cache.get(key)
        if strip is None:
            text = event_line(self.events[index])
            if selected:
                text.stylize("reverse")
            strip = self._cache[key] = self._strip(text, scroll_x, width, self.rich_style)
        return strip

    def _strip(self, text: Text, scroll_x: int, width: int, style) -> Strip:
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_style(style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = new_value >= self.max_scroll_y and self.cursor is None

    def watch_cursor(self, old: int | None, new: int | None) -> None:
        self.refresh()

    @property
    def selected(self) -> TrapEvent | None:
        """The event on the selected line, if one is."""
        cursor = self.cursor
        return self.events[cursor] if cursor is not None and cursor < len(self.events) else None

    def action_cursor(self, delta: int) -> None:
        """↑/↓: select the line above or below (from the bottom line shown, at first).
        A selected line holds the log still, so it stays where it is to be opened."""
        if not self.events:
            return
        if self.cursor is None:
            shown = self.scrollable_content_region.height - 1  # lines under the header
            last = min(len(self.events) - 1, round(self.scroll_y) + shown - 1)
            self.cursor = max(0, last)
        else:
            self.cursor = max(0, min(len(self.events) - 1, self.cursor + delta))
        self.following = False
        top = round(self.scroll_y)
        shown = max(1, self.scrollable_content_region.height - 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + shown:
            self.scroll_to(y=self.cursor - shown + 1, animate=False)

    def action_open(self) -> None:
        """Enter: open the selected line (the newest, if none is) in the inspector."""
        event = self.selected or (self.events[-1] if self.events else None)
        if event is not None:
            self.post_message(self.Open(event))

    def action_scroll_end(self) -> None:
        """End: no line selected, and follow the newest again."""
        self.cursor = None
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.following = True

    def on_click(self, event: events.Click) -> None:
        """A click selects a line; a click on the selected line (or a double click) opens it."""
        if event.y < 1:
            return
        index = round(self.scroll_y) + event.y - 1
        if not 0 <= index < len(self.events):
            return
        if self.cursor == index or event.chain > 1:
            self.cursor = index
            self.action_open()
        else:
            self.cursor = index
            self.following = False

    def lines_below(self) -> int:
        return max(0, self.max_scroll_y - round(self.scroll_y))

    def action_find(self) -> None:
        pane = self.parent
        if isinstance(pane, TrapLogPane):
            pane.action_find()


class TrapLogPane(Vertical):
    """The newest exits of the selected guest (or of all), newest at the bottom."""

    DEFAULT_CSS = """
    TrapLogPane { height: 1fr; }
    TrapLogPane .trap-toolbar { height: 1; }
    TrapLogPane #trap-reason { width: 24; }
    TrapLogPane #trap-all { width: auto; margin-left: 1; }
    TrapLogPane #trap-text { width: 1fr; min-width: 12; margin-left: 1; }
    TrapLogPane #trap-follow { width: auto; min-width: 8; }
    TrapLogPane #trap-status { width: 1fr; margin-left: 1; color: $text-muted; }
    TrapLogPane #trap-lines { height: 1fr; }
    """

    def __init__(self, session: Session, lines: int = MAX_LINES, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None
        self.lines = lines
        self._last = -1  # the newest sequence number looked at
        self._scope: object = ()  # (guest shown or None, filter key or None, text) of what the lines hold
        self._status: Text | str = ""
        self._cut = False  # older events were left out when the lines were filled
        self._ready = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="trap-toolbar"):
            yield Select([(f.label, f.key) for f in T.FILTERS], prompt="every exit", allow_blank=True,
                         id="trap-reason", compact=True)  # fmt: skip
            yield Tick("all guests", id="trap-all", compact=True)
            yield Input(placeholder="text to find (/)", id="trap-text", compact=True)
        with Horizontal(classes="trap-toolbar"):
            yield Button("hold", id="trap-follow", compact=True)
            yield Static(id="trap-status")
        yield TrapLines(self.lines, id="trap-lines")

    def on_mount(self) -> None:
        self._log = self.query_one(TrapLines)
        self._reason_select = self.query_one("#trap-reason", Select)
        self._all = self.query_one("#trap-all", Tick)
        self._text = self.query_one("#trap-text", Input)
        self._follow_button = self.query_one("#trap-follow", Button)
        self._status_widget = self.query_one("#trap-status", Static)
        self.watch(self._log, "following", self._following_changed, init=False)
        self._ready = True
        self.refresh_from_session()

    def on_show(self) -> None:
        self.refresh_from_session()

    # --- public ------------------------------------------------------------------------------

    def show(self, name: str | None) -> None:
        self.guest_name = name
        self.refresh_from_session()

    def keyboard_widget(self) -> Widget:
        """What takes the keyboard when the pane is given it: the lines, which scroll."""
        return self._log

    @property
    def following(self) -> bool:
        return self._ready and self._log.following

    def shown_events(self) -> list[TrapEvent]:
        """The events the log holds now, oldest first (what Alt+W writes), brought up
        to date even while the pane is not on the screen."""
        self.refresh_from_session(hidden_too=True)
        return list(self._log.events) if self._ready else []

    def describe_scope(self) -> str:
        """What the lines are, in words: "unix, every exit", "all guests, hidden faults
        with "0x8000"."""
        scope, key, text = self._scope if self._scope else (None, None, "")
        what = T.FILTER_BY_KEY[key].words if key else "every exit"
        return f"{scope if scope is not None else 'all guests'}, {what}" + (f' with "{text}"' if text else "")

    @property
    def reason(self) -> str | None:
        """The filter chosen (traplog.FILTERS' key: what the VMM did, or the exit
        kind), or None for every exit."""
        if not self._ready:
            return None
        value = self._reason_select.value
        return value if isinstance(value, str) else None

    def set_reason(self, reason: str | None) -> None:
        if reason is None:
            self._reason_select.clear()
        else:
            self._reason_select.value = reason
        self.refresh_from_session()

    @property
    def text(self) -> str:
        """The text every line shown holds ("" for any)."""
        return self._text.value.strip() if self._ready else ""

    def set_text(self, text: str) -> None:
        self._text.value = text
        self.refresh_from_session()

    def action_find(self) -> None:
        """/: type the text the lines must hold."""
        self._text.focus()

    def chosen_event(self) -> TrapEvent | None:
        """The selected line's event, else the newest shown (brought up to date)."""
        self.refresh_from_session(hidden_too=True)
        if not self._ready:
            return None
        return self._log.selected or (self._log.events[-1] if self._log.events else None)

    @property
    def scope(self) -> str | None:
        """The guest whose exits are shown, or None for all guests."""
        if self._ready and self._all.value:
            return None
        return self.guest_name

    def refresh_from_session(self, *, hidden_too: bool = False) -> None:
        if not self._ready or not (hidden_too or on_display(self)):
            return
        scope = (self.scope, self.reason, self.text)
        log = self._log
        with self.app.batch_update():
            if scope != self._scope:
                self._scope = scope
                self._last = -1
                self._cut = False
                log.clear()
                log.following = True
            newest = self.session.vmm.sequence.next - 1
            if newest != self._last:
                name, key, text = scope
                logs = [g.log for g in self.session.guests if name is None or g.name == name]
                events, cut = newer_events_cut(logs, self._last, None, self.lines, event_filter(key, text))
                self._last = newest
                if events:
                    self._append(events)
                self._cut = self._cut or cut
            self._update_status()

    # --- inside -----------------------------------------------------------------------------

    def _append(self, events: list[TrapEvent]) -> None:
        log = self._log
        following = log.following
        trimmed = log.append(events)
        if following:
            log.scroll_end(animate=False, x_axis=False)
        elif trimmed and log.scroll_y > 0:
            # Lines left the top: keep the reader's lines where they are.
            log.scroll_to(y=max(0, log.scroll_y - trimmed), animate=False, force=True)

    def _update_status(self) -> None:
        log = self._log
        kept = plural(len(log.events), "line")
        if log.dropped or self._cut:  # the pane keeps `lines`: say so once older ones have gone
            kept = f"the last {kept} (older dropped)"
        if log.following:
            status = Text.assemble(("● following", "green"), f"  {self.describe_scope()}  ·  {kept}")
        else:
            below = log.lines_below()
            status = Text.assemble(("‖ held", "yellow"), f"  {self.describe_scope()}  ·  {plural(below, 'line')}"
                                   " below  ·  End to follow")  # fmt: skip
        if status != self._status:
            self._status = status
            self._status_widget.update(status)
            self._follow_button.label = "hold" if log.following else "follow"

    def _following_changed(self, _following: bool) -> None:
        if self._ready:
            self._update_status()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.refresh_from_session()

    def on_checkbox_changed(self, event: Tick.Changed) -> None:
        event.stop()
        self.refresh_from_session()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.refresh_from_session()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the text: back to the lines, to read them."""
        event.stop()
        self._log.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_toggle_follow()

    def action_toggle_follow(self) -> None:
        log = self._log
        if log.following:
            log.following = False
        else:
            log.cursor = None
            log.following = True
            log.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_toggle_all(self) -> None:
        self._all.value = not self._all.value
