"""The dashboard: the guest list, and for the selected guest its console, memory map,
trap log and exit counters; or every guest's console tiled.

The app owns no state of its own beyond which guest is selected and which view is
up: everything else is the `Session`'s.  Ten times a second a timer samples the
session and redraws the panes that are visible; nothing is drawn per trap.

The console has the keyboard, so the app binds only function keys and Alt
combinations (plain keys, Ctrl-C/U/D/P, Tab and the arrows belong to the guest).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header

from tuivmm.lineup.options import parse_guest_line
from tuivmm.lineup.spec import SpecError
from tuivmm.ui.console import ConsoleGrid, ConsolePane
from tuivmm.ui.dialogs import AddGuestDialog, PromptDialog
from tuivmm.ui.guestlist import GuestList
from tuivmm.ui.help import HelpScreen
from tuivmm.ui.memory import MemoryPane
from tuivmm.ui.session import Session
from tuivmm.ui.traps import CountersPane, TrapLogPane
from tuivmm.vmm.monitor import REMEDIES

REFRESH_HZ = 10

# Alt+1..Alt+9 as Textual 8 sees them on terminals without the kitty keyboard protocol
# (xterm, tmux, VTE): it reads ESC 1 .. ESC 9 as the characters macOS's Option+1..9
# type.  These bindings have priority, so the console does not send them to the guest.
ALT_DIGIT_CHARACTERS = ("inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign", "infinity",
                        "section_sign", "pilcrow_sign", "bullet", "ª")  # fmt: skip


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
        self._errors_shown = 0
        self._notices_shown = 0

    # --- building -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept, not queried: while a dialog, the help or the palette is up, queries
        # would search that screen instead.
        session = self.session
        self.guest_list = GuestList(id="guests")
        self.console_pane = ConsolePane(session, id="console")
        self.memory = MemoryPane(session, id="memory")
        self.counters = CountersPane(session, id="counters")
        self.traps = TrapLogPane(session, id="traps")
        self.grid = ConsoleGrid(session, id="grid")
        self.views = ContentSwitcher(initial="single", id="views")
        yield Header(icon="▣")
        yield self.guest_list
        with self.views:
            with Vertical(id="single"):
                with Horizontal(id="upper"):
                    yield self.console_pane
                    with Vertical(id="side"):
                        yield self.memory
                        yield self.counters
                yield self.traps
            yield self.grid
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.guest_list.border_title = "guests"
        self.memory.border_title = "memory map"
        self.counters.border_title = "exits"
        self.traps.border_title = "trap log"
        self._show_flaw()
        if self.session.guests:
            self.select(self.session.guests[0].name)
        self.refresh_view()
        if self.autostart:
            self.session.start()
        if self.refresh_hz:
            self.set_interval(1 / self.refresh_hz, self.refresh_view)

    async def on_unmount(self) -> None:
        # gdb stubs are served on this loop: close them (and their debuggers) while it runs.
        for name in list(self.session.debuggers):
            await self.session.undebug(name)

    # --- the timer --------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Sample the session and redraw what is visible."""
        session = self.session
        rows = session.sample()
        self._show_messages()
        names = [row.name for row in rows]
        if self.selected not in names:  # removed: show another
            self.select(names[0] if names else None)
        self.guest_list.show_rows(rows, self.selected)
        if self.views.current == "grid":
            self.grid.refresh_from_session()
            self._title_tiles()
        else:
            for pane in self._guest_panes():
                pane.refresh_from_session()

    def _guest_panes(self) -> tuple:
        return self.console_pane, self.memory, self.traps, self.counters

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
        """Name each tile, and mark the selected guest's: the keyboard still goes to it."""
        for tile in self.grid.children:
            if not tile.name:
                continue
            title = f"{tile.name} ⌨" if tile.name == self.selected else tile.name
            if tile.border_title != title:
                tile.border_title = title
            tile.set_class(tile.name == self.selected, "selected")

    # --- selecting ----------------------------------------------------------------------

    def select(self, name: str | None) -> None:
        """Show guest `name` in the panes, and give its console the keyboard."""
        self.selected = name
        self.console_pane.border_title = f"console: {name}" if name else "console"
        if name is not None:
            for pane in self._guest_panes():
                pane.show(name)
        self.guest_list.show_rows(self.session.rows, name)
        if self.views.current == "single":
            self.console_pane.focus()

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
        self.refresh_view()

    def action_toggle_grid(self) -> None:
        switcher = self.views
        switcher.current = "single" if switcher.current == "grid" else "grid"
        if switcher.current == "single":
            self.console_pane.focus()
        self.refresh_view()

    # --- controls on the selected guest ----------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.selected:
            self.session.toggle_pause(self.selected)
            self.refresh_view()

    def action_step(self) -> None:
        if self.selected:
            self.session.step(self.selected)
            self.refresh_view()

    def action_reset(self) -> None:
        if self.selected:
            self.session.reset(self.selected)
            self.notify(f"{self.selected}: reset", timeout=3)
            self.refresh_view()

    def action_stop(self) -> None:
        if self.selected:
            self.session.stop(self.selected)
            self.refresh_view()

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
        self.set_flaw(not self.session.vmm.flawed_eret)

    def set_flaw(self, on: bool) -> None:
        self.session.set_flaw(on)
        self._show_flaw()
        if on:
            self.notify("ERET flaw on: SRET/MRET in U-mode now run instead of trapping "
                        "(reset eret-escape to see what that does)", timeout=6)  # fmt: skip
        else:
            self.notify("ERET flaw off: SRET/MRET in U-mode trap, as the spec says", timeout=6)

    def _show_flaw(self) -> None:
        flaw = "on" if self.session.vmm.flawed_eret else "off"
        self.sub_title = f"ERET flaw {flaw} · Alt+1..9 pick a guest · F1 help"

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
        used = {stub.port for stub in self.session.debuggers.values()}
        port = next(p for p in range(self.GDB_PORT, self.GDB_PORT + 100) if p not in used)
        dialog = PromptDialog(f"Debug {name} with gdb: the port to listen on (127.0.0.1 only)",
                              hint=f"{name} stops where it is until gdb attaches and continues; Alt+G again "
                                   "lets it go. 0 picks a free port.", value=str(port), ok="Listen",
                              dialog_id="gdb-port")  # fmt: skip
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
        yield SystemCommand("Remove guest", f"stop {guest} and give its RAM back", self.remove_selected)
        if self.selected in self.session.debuggers:
            stub = self.session.debuggers[self.selected]
            yield SystemCommand("Stop debugging", f"Alt+G: drop gdb (port {stub.port}); {guest} runs on",
                                self.action_debug)  # fmt: skip
        else:
            yield SystemCommand("Debug with gdb", f"Alt+G: stop {guest} and let gdb attach on 127.0.0.1",
                                self.action_debug)  # fmt: skip
        yield SystemCommand("Add guest", "F9: a packaged guest's name or an ELF path", self.action_add_guest)
        yield SystemCommand("Save snapshot", f"Alt+S: save {guest} to a file", self.action_save_snapshot)
        yield SystemCommand("Restore snapshot", "Alt+O: add a guest saved in a file", self.action_restore_snapshot)
        yield SystemCommand("Grid", "F4: every console tiled, or back", self.action_toggle_grid)
        yield SystemCommand("Previous guest", "F2", self.action_select_previous)
        yield SystemCommand("Next guest", "F3", self.action_select_next)
        if self.session.vmm.flawed_eret:
            yield SystemCommand("ERET flaw: off", "Alt+E: SRET/MRET in U-mode trap again",
                                lambda: self.set_flaw(False))  # fmt: skip
        else:
            yield SystemCommand("ERET flaw: on", "Alt+E: SRET/MRET in U-mode run instead of trapping",
                                lambda: self.set_flaw(True))  # fmt: skip
        for remedy, what in (("none", "the naive VMM"), ("bt", "binary translation"),
                             ("pv", "hypercalls, for eret-escape-pv"), ("hw", "the hardware assist")):  # fmt: skip
            yield SystemCommand(f"Remedy: {remedy}", f"{what}, for {guest}", lambda r=remedy: self.set_remedy(r))
        yield SystemCommand("Help", "F1: the panes, the keys, the lecture's table", self.action_help)
        yield SystemCommand("Quit", "F12 or Alt+Q", self.action_quit)
        # Textual's own, less those the keys above cover or that would take Escape
        # from the console (a maximized widget is minimized by Escape).
        yield from (c for c in super().get_system_commands(screen)
                    if c.title not in ("Quit", "Keys", "Maximize", "Minimize"))  # fmt: skip
