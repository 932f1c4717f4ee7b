"""Small dialogs: those that ask for one line (a guest to add, a snapshot file, a gdb
port), and the one that asks which guests to protect when the ERET flaw goes on."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from tuivmm.lineup.options import LINE_SYNTAX, line_options
from tuivmm.lineup.packaged import packaged
from tuivmm.ui.completion import CompletingInput, listing
from tuivmm.ui.tick import Tick


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text: `question`, a muted `hint` under it, the input holding
    `value` to start with (or showing `placeholder`).  Tab completes the word typed, as
    a shell does, from `names` (for the first word) and, if `paths`, the files there;
    more than one candidate is listed under the input.  Dismissed with what was typed
    (stripped), or None when cancelled or left empty."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, hint: str = "", value: str = "", placeholder: str = "",
                 names: list[str] | None = None, paths: bool = True, options: list[str] | None = None,
                 ok: str = "OK", dialog_id: str = "prompt"):  # fmt: skip
        super().__init__()
        self.question, self.hint, self.value, self.ok = question, hint, value, ok
        self.placeholder, self.names, self.paths, self.dialog_id = placeholder, names or [], paths, dialog_id
        self.options = options or []

    def compose(self) -> ComposeResult:
        with Vertical(id=self.dialog_id, classes="prompt"):
            yield Label(self.question)
            if self.hint:
                yield Label(self.hint, classes="hint")
            yield CompletingInput(value=self.value, placeholder=self.placeholder, names=self.names,
                                  paths=self.paths, options=self.options, id="answer")  # fmt: skip
            yield Label("", id="completions", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button(self.ok, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.query_one("#completions").display = False

    def on_completing_input_completions(self, event: CompletingInput.Completions) -> None:
        label = self.query_one("#completions", Label)
        label.update(listing(event.candidates))
        label.display = True

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#completions").display = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        self.dismiss(text or None)


class AddGuestDialog(PromptDialog):
    """F9: a guest named as on a command line — a packaged guest's name, an ELF or an
    assembly file, and options (tuivmm/lineup/options.py).  Whether it loads is the
    session's business: the app reports a failure as a notification."""

    def __init__(self) -> None:
        names = [g.name for g in packaged()]
        super().__init__("Add a guest: a packaged guest's name, an RV32 ELF image or an assembly file, "
                         "and its options",
                         hint=f"{LINE_SYNTAX}\npackaged: {', '.join(names)}; Tab completes names, paths and options",
                         placeholder="unix, hello.S --ram 16, path/to/image.elf --name box ...", names=names,
                         options=line_options(), ok="Add", dialog_id="add-guest")  # fmt: skip


class FlawDialog(ModalScreen[list[str] | None]):
    """Alt+E, turning the machine's ERET flaw on while guests run that it would break:
    which of them get the hardware assist (remedy hw) at once.  `guests` are (name,
    ticked at first).  Dismissed with the names ticked, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    HINT = ("These guests' kernels return to their programs with SRET, which the flawed hardware "
            "runs without trapping. On the naive monitor (remedy none) the guest then loses track "
            "of its mode: unix panics (\"usertrap: not from user mode\"), eret-escape escapes. "
            "Ticked guests get the hardware assist (hw) now (Shift+Tab, then Space, changes a tick); "
            "Alt+R changes a remedy later.")  # fmt: skip

    def __init__(self, guests: list[tuple[str, bool]]):
        super().__init__()
        self.guests = guests

    def compose(self) -> ComposeResult:
        with Vertical(id="flaw", classes="prompt"):
            yield Label("Turn the ERET flaw on: SRET and MRET in U-mode will run instead of trapping")
            yield Label(self.HINT, classes="hint")
            with Vertical(id="flaw-guests"):
                for name, ticked in self.guests:
                    yield Tick(f"{name}: give it the hardware assist", ticked, name=name, compact=True)
            with Horizontal(classes="buttons"):
                yield Button("Turn the flaw on", variant="warning", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#ok").focus()  # Enter turns it on as ticked; Shift+Tab and Space change the ticks

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.dismiss([tick.name for tick in self.query(Tick) if tick.value])
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
