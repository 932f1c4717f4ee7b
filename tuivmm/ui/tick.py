"""A checkbox that shows whether it is ticked in its glyph, not only in a colour:
`[x] all guests` or `[ ] all guests` (Textual's own draws an X either way, and
tells the two apart by colour alone, which a monochrome or dimmed terminal loses)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class Tick(Checkbox):
    @property
    def _button(self) -> Content:
        if not self.value:
            return Content("[ ]")
        return Content.assemble("[", ("x", self.get_visual_style("toggle--button")), "]")
