"""Small dialogs that ask for one line: a guest to add (a packaged guest's name or an
ELF path), a snapshot file, a gdb port."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label

from tuivmm.lineup.packaged import packaged


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text: `question`, a muted `hint` under it, the Input holding
    `value` to start with (or showing `placeholder`, and completing from `suggestions`).
    Dismissed with what was typed (stripped), or None when cancelled or left empty."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, hint: str = "", value: str = "", placeholder: str = "",
                 suggestions: list[str] | None = None, ok: str = "OK", dialog_id: str = "prompt"):  # fmt: skip
        super().__init__()
        self.question, self.hint, self.value, self.ok = question, hint, value, ok
        self.placeholder, self.suggestions, self.dialog_id = placeholder, suggestions, dialog_id

    def compose(self) -> ComposeResult:
        with Vertical(id=self.dialog_id, classes="prompt"):
            yield Label(self.question)
            if self.hint:
                yield Label(self.hint, classes="hint")
            suggester = SuggestFromList(self.suggestions) if self.suggestions else None
            yield Input(value=self.value, placeholder=self.placeholder, suggester=suggester, id="answer")
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


class AddGuestDialog(PromptDialog):
    """F9: a packaged guest's name (completed as it is typed) or an ELF path.  Whether
    it loads is the session's business: the app reports a failure as a notification."""

    def __init__(self) -> None:
        names = [g.name for g in packaged()]
        super().__init__("Add a guest: a packaged guest's name or the path of an RV32 ELF image",
                         hint=f"packaged: {', '.join(names)}", placeholder="unix, hello, path/to/image.elf ...",
                         suggestions=names, ok="Add", dialog_id="add-guest")  # fmt: skip
