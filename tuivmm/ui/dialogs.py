"""Small dialogs that ask for one line: a guest to add (a packaged guest's name or an
ELF path), a snapshot file, a gdb port."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label

from tuivmm.guests import packaged


class AddGuestDialog(ModalScreen[str | None]):
    """Dismissed with what was typed (stripped), or None when cancelled.  Whether it
    loads is the session's business: the app reports a failure as a notification."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        names = [g.name for g in packaged()]
        with Vertical(id="add-guest"):
            yield Label("Add a guest: a packaged guest's name or the path of an RV32 ELF image")
            yield Label(f"packaged: {', '.join(names)}", classes="hint")
            yield Input(placeholder="unix, hello, path/to/image.elf ...", suggester=SuggestFromList(names),
                        id="image")  # fmt: skip
            with Horizontal(classes="buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "add":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        self.dismiss(text or None)


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text: `question`, a muted `hint` under it, the Input holding
    `value` to start with.  Dismissed with what was typed (stripped), or None when
    cancelled or left empty."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, hint: str = "", value: str = "", ok: str = "OK", dialog_id: str = "prompt"):
        super().__init__()
        self.question, self.hint, self.value, self.ok = question, hint, value, ok
        self.dialog_id = dialog_id

    def compose(self) -> ComposeResult:
        with Vertical(id=self.dialog_id, classes="prompt"):
            yield Label(self.question)
            if self.hint:
                yield Label(self.hint, classes="hint")
            yield Input(value=self.value, id="answer")
            with Horizontal(classes="buttons"):
                yield Button(self.ok, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

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
