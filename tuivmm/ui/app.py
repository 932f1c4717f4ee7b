"""The dashboard: the guest list, and for the selected guest its console, memory map,
registers, trap log and exit counters; or every guest's console tiled.

The app owns no state of its own beyond which guest is selected, which view is up
and which pane is shown: everything else is the `Session`'s.  Ten times a second a
timer samples the session and redraws the panes that are visible; nothing is drawn
per trap.  Where the panes go is layout.py's `plan`, asked again at every resize.

The keyboard: the console has it from the start, so the app binds only function
keys and Alt combinations (plain keys, Ctrl-C/U/D/P, Tab and the arrows belong to
the guest).  Alt+M, Alt+V, Alt+X and Alt+T move it to the memory map, the registers,
the exit counters or the trap log, to scroll them from the keyboard; there Esc (or
Alt+C) gives it back to the console, and so does anything typed that the pane has no
use for: it goes on to the guest.  The header says at all times where the keys go.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Header, Static

from tuivmm.lineup.options import parse_guest_line
from tuivmm.lineup.packaged import shows_the_flaw
from tuivmm.lineup.spec import SpecError
from tuivmm.ui.collector import Collector
from tuivmm.ui.compare import CompareScreen
from tuivmm.ui.console import ConsoleGrid, ConsolePane, key_bytes
from tuivmm.ui.counters import CountersPane
from tuivmm.ui.dialogs import AddGuestDialog, FlawDialog, PromptDialog
from tuivmm.ui.guestlist import GuestList
from tuivmm.ui.help import HelpScreen
from tuivmm.ui.inspector import InspectorScreen
from tuivmm.ui.layout import MIN_SIZE, PANES, Plan, plan
from tuivmm.ui.memory import MemoryPane
from tuivmm.ui.pagetables import PageTableBrowser
from tuivmm.ui.panebar import PANE_NAMES, PaneBar
from tuivmm.ui.registers import RegistersPane
from tuivmm.ui.session import Session
from tuivmm.ui.traps import TrapLines, TrapLogPane
from tuivmm.ui.words import plural
from tuivmm.vmm.monitor import REMEDIES
from tuivmm.vmm.traplog import write_trace

REFRESH_HZ = 10

# Alt+1..Alt+9 as Textual 8 sees them on terminals without the kitty keyboard protocol
# (xterm, tmux, VTE): it reads ESC 1 .. ESC 9 as the characters macOS's Option+1..9
# type.  These bindings have priority, so the console does not send them to the guest.
ALT_DIGIT_CHARACTERS = ("inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign", "infinity",
                        "section_sign", "pilcrow_sign", "bullet", "ª")  # fmt: skip

# What each pane's title says while it has the keyboard (the console's says where it goes).
KEYS_HINT = "⌨ ↑↓ PgUp PgDn Home End scroll · Esc: back to the console"


def _key(keys: str, action: str, description: str, **kwargs) -> Binding:
    """A binding shown with its first key as people write it (F5, Alt+E)."""
    first = keys.split(",")[0]
    display = first.upper() if first[0] == "f" and first[1:].isdigit() else first.title()
    return Binding(keys, action, description, key_display=display, **kwargs)


class TuivmmApp(App, inherit_bindings=False):
    """`autostart`: start the guests' tasks when the app starts.  `refresh_hz`: how
    often to sample the session and redraw; None: only at the start and after each
    command.  Snapshot tests turn both off, having run the guests to a fixed point
    themselves, so that nothing on the screen depends on time.  The caller owns the
    session and closes it after the app has exited."""

    CSS_PATH = "tuivmm.tcss"
    TITLE = "tuivmm"
    COMMAND_PALETTE_BINDING = "f10"  # ctrl+p is the shell's
    BINDINGS = [
        _key("f1,alt+h", "help", "Help"),
        _key("f2", "select_previous", "Prev"),
        _key("f3", "select_next", "Next"),
        _key("f4", "toggle_grid", "Grid"),
        _key("f5", "toggle_pause", "Pause/Resume"),
        _key("f6", "step", "Step"),
        _key("f7", "reset", "Reset"),
        _key("f8", "stop", "Stop"),
        _key("f9", "add_guest", "Add"),
        _key("alt+e", "toggle_flaw", "ERET flaw"),
        _key("alt+r", "next_remedy", "Remedy"),
        Binding("alt+g", "debug", "gdb", show=False),
        Binding("alt+s", "save_snapshot", "Save", show=False),
        Binding("alt+o", "restore_snapshot", "Restore", show=False),
        Binding("alt+w", "write_trap_log", "Write trap log", show=False),
        Binding("alt+i", "inspect_trap", "Inspect a trap", show=False),
        Binding("alt+z", "zero_counters", "Zero counters", show=False),
        Binding("alt+l", "compare", "Compare guests", show=False),
        Binding("alt+a", "page_tables", "Address spaces", show=False),
        Binding("alt+c", "show_pane('console')", "Console", show=False),
        Binding("alt+m", "show_pane('memory')", "Memory", show=False),
        Binding("alt+x", "show_pane('exits')", "Exits", show=False),
        Binding("alt+t", "show_pane('traps')", "Trap log", show=False),
        Binding("alt+v", "show_pane('registers')", "Registers", show=False),
        # Not a priority: the console sends Esc to the guest; from another pane it comes back here.
        Binding("escape", "show_pane('console')", "Console", show=False),
        _key("f10,alt+p", "command_palette", "Commands", priority=True),
        _key("f12,alt+q", "quit", "Quit", priority=True),
        *(Binding(f"alt+{n},{ALT_DIGIT_CHARACTERS[n - 1]}", f"select_number({n})", f"Guest {n}", show=False,
                  priority=True) for n in range(1, 10)),
    ]  # fmt: skip

    def __init__(self, session: Session, *, autostart: bool = True, refresh_hz: float | None = REFRESH_HZ):
        super().__init__()
        self.session = session
        self.autostart = autostart
        self.refresh_hz = refresh_hz
        self.selected: str | None = None
        self.pane = "console"  # the pane the stacked arrangement shows
        self.beside_console = "memory"  # wide, where the registers share the memory map's place: which shows
        self.plan: Plan | None = None
        self._laid_out_for = -1  # how many guests the plan was made for
        self.main_screen: Screen | None = None  # the dashboard's own screen (not a dialog's)
        self._errors_shown = 0
        self._notices_shown = 0
        self._keyboard = ""  # where the keys go, as the header last said it
        self.collector = Collector()  # the garbage collector's full passes, between keys
        self._typing_to_console = False  # keys typed in another pane are on their way to the console

    # --- building -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept, not queried: while a dialog, the help or the palette is up, queries
        # would search that screen instead.
        session = self.session
        self.guest_list = GuestList(id="guests")
        self.console_pane = ConsolePane(session, id="console")
        self.memory = MemoryPane(session, id="memory")
        self.registers = RegistersPane(session, id="registers")
        self.counters = CountersPane(session, id="counters")
        self.traps = TrapLogPane(session, id="traps")
        self.grid = ConsoleGrid(session, id="grid")
        self.views = ContentSwitcher(initial="single", id="views")
        self.pane_bar = PaneBar(id="panebar")
        self.upper = Horizontal(id="upper")
        self.lower = Horizontal(id="lower")
        self.too_small = Static(id="too-small")
        yield Header(icon="▣")
        yield self.guest_list
        yield self.too_small
        with self.views:
            with Vertical(id="single"):
                yield self.pane_bar
                with self.upper:
                    yield self.console_pane
                    yield self.memory
                    yield self.registers
                with self.lower:
                    yield self.traps
                    yield self.counters
            yield self.grid
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.main_screen = self.screen
        self.guest_list.border_title = "guests"
        if self.session.vmm.realtime:  # idle guests' clocks run on: one paint a second for those
            self.guest_list.clock_only_every = 1.0
        self.memory.border_title = "memory map"
        self.registers.border_title = "registers"
        self.counters.border_title = "exits"
        self.traps.border_title = "trap log"
        self.lay_out()
        if self.session.guests:
            self.select(self.session.guests[0].name)
        if sum(g.verdict_rule is not None for g in self.session.guests) >= 2:  # the gotcha, more ways than one
            self.notify("Alt+L puts these guests' exits side by side", timeout=10)
        self.refresh_view()
        if self.autostart:
            self.session.start()
        if self.refresh_hz:
            self.collector.start()
            self.set_interval(1 / self.refresh_hz, self.refresh_view)

    async def on_unmount(self) -> None:
        self.collector.stop()
        # gdb stubs are served on this loop: close them (and their debuggers) while it runs.
        for name in list(self.session.debuggers):
            await self.session.undebug(name)

    # --- laying out -----------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.call_later(self.lay_out)  # once the app knows its new size

    def lay_out(self) -> None:
        """Place the panes for the terminal's size (layout.plan), if that changed."""
        width, height = self.size
        self._laid_out_for = len(self.session.guests)
        new = plan(width, height, self._laid_out_for)
        if new == self.plan:
            return
        self.plan = new
        small = new.mode == "too small"
        self.too_small.display = small
        self.guest_list.display = self.views.display = not small
        if small:
            self.too_small.update(f"This terminal is {width} x {height}: tuivmm needs at least "
                                  f"{MIN_SIZE[0]} x {MIN_SIZE[1]}. Make the window bigger (F12 quits).")  # fmt: skip
            return
        stacked = new.mode == "stacked"
        for widget in (self.guest_list, self.views):
            widget.set_class(stacked, "-stacked")
        self.guest_list.styles.height = new.list_height
        self.guest_list.visible_rows = new.list_rows
        self.pane_bar.display = stacked
        if stacked:
            self._show_stacked()
        else:
            for widget in (self.upper, self.lower, self.console_pane, self.memory, self.traps, self.counters):
                widget.display = True
            self.upper.styles.height = new.upper
            self.lower.styles.height = "1fr"
            self.console_pane.styles.width = new.console_width
            self.counters.styles.width = new.exits_width
            self.memory.styles.width = self.traps.styles.width = "1fr"
            self._show_beside_console()
        self._show_keyboard()

    def _show_stacked(self) -> None:
        """The stacked arrangement: only `self.pane`, taking all the room."""
        pane = self.pane
        self.upper.display = pane in ("console", "memory", "registers")
        self.lower.display = not self.upper.display
        self.console_pane.display = pane == "console"
        self.memory.display = pane == "memory"
        self.registers.display = pane == "registers"
        self.traps.display = pane == "traps"
        self.counters.display = pane == "exits"
        self.upper.styles.height = self.lower.styles.height = "1fr"
        for widget in (self.console_pane, self.memory, self.registers, self.traps, self.counters):
            widget.styles.width = "1fr"

    def _show_beside_console(self) -> None:
        """Wide: the registers beside the memory map where the plan has room for them,
        else in its place when they were asked for last (Alt+V; Alt+M brings it back)."""
        width = self.plan.registers_width
        self.memory.display = bool(width) or self.beside_console == "memory"
        self.registers.display = bool(width) or self.beside_console == "registers"
        self.registers.styles.width = width or "1fr"

    @property
    def stacked(self) -> bool:
        return self.plan is not None and self.plan.mode == "stacked"

    # --- the keyboard ---------------------------------------------------------------

    def _pane_widgets(self) -> dict[str, Widget]:
        return {"console": self.console_pane, "memory": self.memory, "exits": self.counters, "traps": self.traps,
                "registers": self.registers}  # fmt: skip

    def action_show_pane(self, pane: str) -> None:
        """Alt+C/M/V/X/T (and Esc for the console): give that pane the keyboard, and in
        the stacked arrangement (or the memory map's place) show it."""
        if pane not in PANES:
            return
        if self.views.current == "grid":
            if pane == "console":
                self.grid.focus()
                return
            self.views.current = "single"
        self.pane = pane
        if pane in ("memory", "registers"):
            self.beside_console = pane
        if self.stacked:
            self._show_stacked()
        elif self.plan is not None and self.plan.mode == "wide":
            self._show_beside_console()
        target = self._pane_widgets()[pane]
        focus = target if pane == "console" else target.keyboard_widget()
        self.call_after_refresh(focus.focus)  # once it is displayed
        self.refresh_view()

    def keyboard_pane(self) -> str | None:
        """Which pane has the keyboard: "console", "memory", "registers", "exits", "traps", "grid", or None."""
        node = self.main_screen.focused if self.main_screen is not None else None
        panes = {id(w): name for name, w in self._pane_widgets().items()}
        panes[id(self.grid)] = "grid"
        while node is not None:
            if id(node) in panes:
                return panes[id(node)]
            node = node.parent
        return None

    def _show_keyboard(self) -> None:
        """Say where the keys go: in the header, on the pane bar, and in pane titles."""
        pane = self.keyboard_pane()
        name = self.selected or "no guest"
        if pane in ("console", "grid"):
            where = f"⌨ {name}'s console"
        elif pane is not None:
            where = f"⌨ {PANE_NAMES[pane][0]} · Esc: console"
        else:
            where = "⌨ nowhere · Esc: console"
        flaw = "on" if self.session.vmm.flawed_eret else "off"
        keyboard = f"ERET flaw {flaw} · {where} · F1 help"
        if keyboard != self._keyboard:
            self._keyboard = keyboard
            self.sub_title = keyboard
        console = f"console: {self.selected}" if self.selected else "console"
        titles = [(self.console_pane, f"⌨ {console}" if pane == "console" else f"{console} · Esc: type here")]
        shared = self.plan is not None and self.plan.mode == "wide" and not self.plan.registers_width
        for key, widget in (("memory", self.memory), ("registers", self.registers), ("exits", self.counters),
                            ("traps", self.traps)):  # fmt: skip
            title = PANE_NAMES[key][0]
            if key == "registers" and self.selected:
                title = f"{title}: {self.selected}"
            other = {"memory": "registers", "registers": "memory"}.get(key) if shared else None
            swap = f" · {PANE_NAMES[other][1]}: {PANE_NAMES[other][0]}" if other else ""
            titles.append((widget, f"{title} {KEYS_HINT}" if pane == key else f"{title} · {PANE_NAMES[key][1]}{swap}"))
        for widget, title in titles:
            if widget.border_title != title:  # setting it, even to the same, repaints the pane
                widget.border_title = title
        self.pane_bar.show(self.pane, pane, self.selected)

    async def on_event(self, event: events.Event) -> None:
        # A key for the guest: let the other guests wait from now, not only once the
        # console has it (each hop through a message queue waits behind their slices).
        if isinstance(event, events.Key) and self.selected is not None and self.screen is self.main_screen:
            pane = self.keyboard_pane()
            if pane in ("console", "grid"):
                self.session.keystroke_coming(self.selected)
            elif (self._typing_to_console and event.key not in self._bindings.key_to_bindings
                  and (data := key_bytes(event)) is not None):  # fmt: skip
                self.console_pane.send(data)  # see on_key
                return
        await super().on_event(event)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._show_keyboard()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.call_later(self._show_keyboard)

    def on_key(self, event: events.Key) -> None:
        """A key no widget and no binding took, typed in a pane other than the console:
        it was meant for the guest.  Give the console the keyboard, and the key to it."""
        if self.screen is not self.main_screen or event.key in self.screen.active_bindings:
            return
        data = key_bytes(event)
        pane = self.keyboard_pane()
        if data is None or pane in ("console", "grid") or self.selected is None:
            return
        event.stop()
        event.prevent_default()
        self.action_show_pane("console")
        self.console_pane.send(data)
        # The console gets the focus after the next refresh; the keys already queued
        # behind this one (a paste, fast typing, its Enter) go to it too, not to the
        # bindings of the pane they were typed in (on_event).
        self._typing_to_console = True
        self.call_after_refresh(setattr, self, "_typing_to_console", False)

    def on_pane_bar_picked(self, message: PaneBar.Picked) -> None:
        self.action_show_pane(message.pane)

    # --- the timer --------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Sample the session and redraw what is visible."""
        session = self.session
        rows = session.sample()
        self._show_messages()
        names = [row.name for row in rows]
        if self.selected not in names:  # removed: show another
            self.select(names[0] if names else None)
        if len(names) != self._laid_out_for:
            self.lay_out()  # a guest came or went: the list may want another height
        self.guest_list.show_rows(rows, self.selected)
        if self.views.current == "grid":
            self.grid.refresh_from_session()
            self._title_tiles()
        else:
            for pane in self._guest_panes():
                pane.refresh_from_session()
        self._show_keyboard()
        self.collector.tick(session.last_key_at)

    def _guest_panes(self) -> tuple:
        return self.console_pane, self.memory, self.registers, self.traps, self.counters

    def _show_messages(self) -> None:
        """What the session has to say (notices once, errors as they come), as toasts."""
        session = self.session
        for notice in dict.fromkeys(session.notices[self._notices_shown :]):
            self.notify(notice, title="note", timeout=10)
        self._notices_shown = len(session.notices)
        for error in session.errors[self._errors_shown :]:
            self.notify(error, title="error", severity="error", timeout=10)
        self._errors_shown = len(session.errors)

    def _title_tiles(self) -> None:
        """Name each tile, and mark the selected guest's: the keyboard goes to it."""
        for tile in self.grid.children:
            if not tile.name:
                continue
            title = f"⌨ {tile.name}" if tile.name == self.selected else tile.name
            if tile.border_title != title:
                tile.border_title = title
            tile.set_class(tile.name == self.selected, "selected")

    # --- selecting ----------------------------------------------------------------------

    def select(self, name: str | None) -> None:
        """Show guest `name` in the panes (and its tile marked in the grid); the keys
        that went to the last guest's console go to this one's."""
        self.selected = name
        self.grid.selected = name
        if name is not None:
            for pane in self._guest_panes():
                pane.show(name)
        self.guest_list.show_rows(self.session.rows, name)
        focused = self.keyboard_pane()
        if self.views.current == "grid":
            self.grid.focus()
            self._title_tiles()
        elif focused is None or (self.stacked and focused != self.pane):
            self.action_show_pane(self.pane)
        self._show_keyboard()

    def _names(self) -> list[str]:
        return [g.name for g in self.session.guests]

    def _select_offset(self, step: int) -> None:
        names = self._names()
        if not names:
            return
        index = names.index(self.selected) if self.selected in names else 0
        self.select(names[(index + step) % len(names)])

    def action_select_number(self, number: int) -> None:
        names = self._names()
        if 1 <= number <= len(names):
            self.select(names[number - 1])

    def action_select_previous(self) -> None:
        self._select_offset(-1)

    def action_select_next(self) -> None:
        self._select_offset(1)

    def on_guest_list_selected(self, message: GuestList.Selected) -> None:
        self.select(message.name)

    def on_console_grid_selected(self, message: ConsoleGrid.Selected) -> None:
        self.views.current = "single"
        self.select(message.name)
        self.action_show_pane("console")

    def action_toggle_grid(self) -> None:
        switcher = self.views
        switcher.current = "single" if switcher.current == "grid" else "grid"
        if switcher.current == "grid":
            self.grid.selected = self.selected
            self.call_after_refresh(self.grid.focus)
        else:
            self.action_show_pane(self.pane if self.keyboard_pane() not in (None, "grid") else "console")
        self.refresh_view()

    # --- controls on the selected guest ----------------------------------------------------

    def _ended(self, what: str) -> bool:
        """If the selected guest has ended (halted, crashed, stopped), say that `what`
        cannot be done to it, and what can; True then."""
        guest = self.session.guest(self.selected) if self.selected else None
        if guest is None or not guest.state.finished:
            return guest is None
        why = f" ({guest.reason})" if guest.reason and guest.reason != guest.state.value else ""
        self.notify(f"{guest.name} has {guest.state.value}{why}: nothing to {what}. F7 starts it again.",
                    severity="warning", timeout=5)  # fmt: skip
        return True

    def action_toggle_pause(self) -> None:
        if not self._ended("pause or resume"):
            self.session.toggle_pause(self.selected)
            self.refresh_view()

    def action_step(self) -> None:
        if not self._ended("step"):
            self.session.step(self.selected)
            self.refresh_view()

    def action_reset(self) -> None:
        if self.selected:
            self.session.reset(self.selected)
            self.notify(f"{self.selected}: reset", timeout=3)
            self.refresh_view()

    def action_stop(self) -> None:
        if not self._ended("stop"):
            self.session.stop(self.selected)
            self.refresh_view()

    def action_zero_counters(self) -> None:
        """Alt+Z: the selected guest's counters from zero; unlike F7, it runs on."""
        guest = self.session.guest(self.selected) if self.selected else None
        if guest is not None:
            self.session.zero_counters(guest.name)
            self.notify(f"{guest.name}: counters zeroed" + ("" if guest.state.finished else "; it runs on"), timeout=3)
            self.counters.show(self.selected)  # at once, not at the pane's next half second
            self.refresh_view()

    def action_compare(self) -> None:
        """Alt+L: every guest's exits side by side (tuivmm/ui/compare.py)."""
        if not isinstance(self.screen, CompareScreen):
            self.push_screen(CompareScreen(self.session))

    def remove_selected(self) -> None:
        if self.selected:
            name = self.selected
            self.session.remove(name)
            self.notify(f"{name}: removed", timeout=3)
            self.refresh_view()

    def set_remedy(self, remedy: str) -> None:
        guest = self.session.guest(self.selected) if self.selected else None
        if guest is None:
            return
        self.session.set_remedy(guest.name, remedy)
        if guest.remedy == remedy:
            self.notify(f"{guest.name}: remedy {remedy} (F7 resets it, to run with it from the start)", timeout=5)
        self.refresh_view()

    def action_next_remedy(self) -> None:
        guest = self.session.guest(self.selected) if self.selected else None
        if guest is not None:
            self.set_remedy(REMEDIES[(REMEDIES.index(guest.remedy) + 1) % len(REMEDIES)])

    def action_toggle_flaw(self) -> None:
        """Alt+E: the flaw off, or on — first asking which guests it would break to
        protect, if any run."""
        if self.session.vmm.flawed_eret:
            self.set_flaw(False)
            return
        at_risk = [g for g in self.session.guests if g.remedy == "none" and g.uses_sret and not g.state.finished]
        if not at_risk:
            self.set_flaw(True)
            return
        guests = [(g.name, not shows_the_flaw(g.image)) for g in at_risk]
        self.push_screen(FlawDialog(guests), self._flaw_on)

    def _flaw_on(self, protect: list[str] | None) -> None:
        if protect is None:
            return
        for name in protect:
            self.session.set_remedy(name, "hw")
        self.set_flaw(True)
        if protect:
            self.notify(f"remedy hw (the hardware assist) for {', '.join(protect)}", timeout=6)
        self.refresh_view()

    def set_flaw(self, on: bool) -> None:
        self.session.set_flaw(on)
        self._show_keyboard()
        if on:
            self.notify("ERET flaw on: SRET/MRET in U-mode now run instead of trapping "
                        "(reset eret-escape to see what that does)", timeout=6)  # fmt: skip
        else:
            self.notify("ERET flaw off: SRET/MRET in U-mode trap, as the spec says", timeout=6)

    # --- adding a guest ---------------------------------------------------------------

    def action_add_guest(self) -> None:
        self.push_screen(AddGuestDialog(), self._add_guest)

    def _add_guest(self, line: str | None) -> None:
        """F9's answer: a guest named as on a command line (tuivmm/lineup/options.py)."""
        if not line:
            return
        try:
            spec = parse_guest_line(line)
        except SpecError as exc:
            self.session.errors.append(str(exc))
            self.refresh_view()  # shown as a toast
            return
        guest = self.session.add(spec)
        if guest is not None:
            self.notify(f"{guest.name}: added", timeout=3)
            self.select(guest.name)
        self.refresh_view()  # a failure is in session.errors: shown as a toast

    # --- snapshots -------------------------------------------------------------------------

    def action_save_snapshot(self) -> None:
        """Alt+S: save the selected guest to a snapshot file (ask where)."""
        name = self.selected
        if name is None:
            return
        dialog = PromptDialog(f"Save {name} to a snapshot file", value=f"{name}.snap", ok="Save",
                              hint="its virtual hart, RAM, devices, console and disk, in one file; "
                                   "an existing file is replaced only once the new one is whole",
                              dialog_id="save-snapshot")  # fmt: skip
        self.push_screen(dialog, lambda path: self._save(name, path))

    def _save(self, name: str, path: str | None) -> None:
        if path is None:
            return
        size = self.session.save(name, path)
        if size is not None:
            self.notify(f"{name}: saved to {path} ({size:,} bytes); Alt+O restores it", timeout=6)
        self.refresh_view()  # a failure is in session.errors: shown as a toast

    def action_write_trap_log(self) -> None:
        """Alt+W: write the trap log's lines, as shown (the guest or all, the exit kind),
        to a file, in `tuivmm run --trace-exits`'s format (ask where)."""
        events = self.traps.shown_events()
        dialog = PromptDialog(f"Write the trap log's {plural(len(events), 'line')} to a file", value="traps.txt",
                              ok="Write", hint=f"{self.traps.describe_scope()}, a line each as tuivmm run "
                                               "--trace-exits writes them; an existing file is replaced whole",
                              dialog_id="write-trap-log")  # fmt: skip
        self.push_screen(dialog, lambda path: self._write_trap_log(events, path))

    def _write_trap_log(self, events: list, path: str | None) -> None:
        if path is None:
            return
        try:
            count = write_trace(events, path)
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="error", severity="error", timeout=10)
            return
        self.notify(f"wrote {plural(count, 'line')} of the trap log to {path}", timeout=6)

    def action_inspect_trap(self) -> None:
        """Alt+I: open the trap log's selected line, or its newest, in the inspector."""
        event = self.traps.chosen_event()
        if event is None:
            self.notify("no exit to inspect yet", timeout=3)
            return
        self.push_screen(InspectorScreen(self.session, event))

    def find_in_trap_log(self) -> None:
        self.action_show_pane("traps")
        self.traps.action_find()

    def on_trap_lines_open(self, message: TrapLines.Open) -> None:
        self.push_screen(InspectorScreen(self.session, message.event))

    def action_restore_snapshot(self) -> None:
        """Alt+O: add a guest from a snapshot file (ask which)."""
        dialog = PromptDialog("Restore a guest from a snapshot file", ok="Restore",
                              hint="it joins the others and runs on from where it was saved, "
                                   "with a throwaway copy of its disk", dialog_id="restore-snapshot")  # fmt: skip
        self.push_screen(dialog, self._restore)

    def _restore(self, path: str | None) -> None:
        if path is None:
            return
        guest = self.session.restore(path)
        if guest is not None:
            self.notify(f"{guest.name}: restored from {path}", timeout=4)
            self.select(guest.name)
        self.refresh_view()

    # --- gdb ------------------------------------------------------------------------------

    GDB_PORT = 1234

    def action_debug(self) -> None:
        """Alt+G: serve gdb for the selected guest (ask for the port), or stop serving it."""
        name = self.selected
        if name is None:
            return
        if name in self.session.debuggers:
            self.run_worker(self._undebug(name), group="gdb")
            return
        if self._ended("debug"):
            return
        used = {stub.port for stub in self.session.debuggers.values()}
        port = next(p for p in range(self.GDB_PORT, self.GDB_PORT + 100) if p not in used)
        dialog = PromptDialog(f"Debug {name} with gdb: the port to listen on (127.0.0.1 only)",
                              hint=f"{name} stops where it is until gdb attaches and continues; Alt+G again "
                                   "lets it go. 0 picks a free port.", value=str(port), ok="Listen",
                              paths=False, dialog_id="gdb-port")  # fmt: skip
        self.push_screen(dialog, lambda answer: self._debug(name, answer))

    def _debug(self, name: str, answer: str | None) -> None:
        if answer is None:
            return
        try:
            port = int(answer, 10)
            if not 0 <= port <= 65535:
                raise ValueError
        except ValueError:
            self.notify(f"not a port number: {answer!r}", severity="error", timeout=6)
            return
        self.run_worker(self._start_debugging(name, port), group="gdb")

    async def _start_debugging(self, name: str, port: int) -> None:
        await self.session.debug(name, port)
        self.refresh_view()

    async def _undebug(self, name: str) -> None:
        await self.session.undebug(name)
        self.notify(f"{name}: no more gdb; it runs on", timeout=4)
        self.refresh_view()

    # --- the page-table browser -------------------------------------------------------------

    def action_page_tables(self) -> None:
        """Alt+A (or Enter in the memory map): every address space of the selected guest,
        its page table beside the shadow (pagetables.py)."""
        if self.selected is not None and not isinstance(self.screen, PageTableBrowser):
            self.push_screen(PageTableBrowser(self.session, self.selected, live=bool(self.refresh_hz)))

    # --- help and the command palette --------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        guest = self.selected or "the selected guest"
        yield SystemCommand("Pause or resume", f"F5: pause {guest}, or let it run again", self.action_toggle_pause)
        yield SystemCommand("Step", f"F6: run one instruction (or one exit) of {guest}", self.action_step)
        yield SystemCommand("Reset", f"F7: power-cycle {guest}", self.action_reset)
        yield SystemCommand("Stop", f"F8: stop {guest}", self.action_stop)
        yield SystemCommand("Zero counters", f"Alt+Z: {guest}'s exit counters from zero; it runs on",
                            self.action_zero_counters)  # fmt: skip
        yield SystemCommand("Compare guests' exits", "Alt+L: every guest's exit counts side by side, in one table",
                            self.action_compare)  # fmt: skip
        yield SystemCommand("Remove guest", f"stop {guest} and give its RAM back", self.remove_selected)
        if self.selected in self.session.debuggers:
            stub = self.session.debuggers[self.selected]
            yield SystemCommand("Stop debugging", f"Alt+G: drop gdb (port {stub.port}); {guest} runs on",
                                self.action_debug)  # fmt: skip
        else:
            yield SystemCommand("Debug with gdb", f"Alt+G: stop {guest} and let gdb attach on 127.0.0.1",
                                self.action_debug)  # fmt: skip
        yield SystemCommand("Add guest", "F9: a packaged guest's name, an ELF or assembly file, and its options", self.action_add_guest)
        yield SystemCommand("Save snapshot", f"Alt+S: save {guest} to a file", self.action_save_snapshot)
        yield SystemCommand("Restore snapshot", "Alt+O: add a guest saved in a file", self.action_restore_snapshot)
        yield SystemCommand("Write trap log", "Alt+W: the trap log's lines, as shown, to a file",
                            self.action_write_trap_log)  # fmt: skip
        yield SystemCommand("Inspect a trap", "Alt+I: the trap log's selected exit (or its newest), opened: "
                            "what it did to the guest", self.action_inspect_trap)  # fmt: skip
        yield SystemCommand("Find in the trap log", "/ in the trap log: show only lines holding a text",
                            self.find_in_trap_log)  # fmt: skip
        yield SystemCommand("Address spaces", f"Alt+A: {guest}'s page tables, each beside its shadow",
                            self.action_page_tables)  # fmt: skip
        yield SystemCommand("Grid", "F4: every console tiled, or back", self.action_toggle_grid)
        yield SystemCommand("Previous guest", "F2", self.action_select_previous)
        yield SystemCommand("Next guest", "F3", self.action_select_next)
        if self.session.vmm.flawed_eret:
            yield SystemCommand("ERET flaw: off", "Alt+E: SRET/MRET in U-mode trap again",
                                lambda: self.set_flaw(False))  # fmt: skip
        else:
            yield SystemCommand("ERET flaw: on", "Alt+E: SRET/MRET in U-mode run instead of trapping",
                                self.action_toggle_flaw)  # fmt: skip
        for remedy, what in (("none", "the naive VMM"), ("bt", "binary translation"),
                             ("pv", "hypercalls, for eret-escape-pv"), ("hw", "the hardware assist")):  # fmt: skip
            yield SystemCommand(f"Remedy: {remedy}", f"{what}, for {guest}", lambda r=remedy: self.set_remedy(r))
        yield SystemCommand("Help", "F1: the panes, the keys, the lecture's table", self.action_help)
        yield SystemCommand("Quit", "F12 or Alt+Q", self.action_quit)
        # Textual's own, less those the keys above cover or that would take Escape
        # from the console (a maximized widget is minimized by Escape).
        yield from (c for c in super().get_system_commands(screen)
                    if c.title not in ("Quit", "Keys", "Maximize", "Minimize"))  # fmt: skip
