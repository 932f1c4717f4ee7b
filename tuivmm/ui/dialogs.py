"""The add-guest dialog: a packaged guest's name or an ELF path, typed in."""

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
