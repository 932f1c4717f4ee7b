"""The memory map pane: host RAM by owner, the selected guest's guest-physical map,
and its page tables beside the VMM's shadow."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tuivmm.ui.session import Session


def perm_text(bits: int, r: int, w: int, x: int) -> str:
    return ("r" if bits & r else "-") + ("w" if bits & w else "-") + ("x" if bits & x else "-")


class MemoryPane(Static):
    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None

    def show(self, name: str) -> None:
        self.guest_name = name
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        lines = ["host RAM"]
        for start, end, owner in self.session.vmm.host_map():
            lines.append(f"  {start:#010x}-{end:#010x}  {(end - start) >> 20:>5} MiB  {owner}")
        guest = self.session.guest(self.guest_name) if self.guest_name else None
        if guest is not None:
            lines.append(f"{guest.name}: guest-physical map")
            for start, end, what, host in guest.memory_map():
                backing = f"host {host:#010x}" if host is not None else "emulated device"
                lines.append(f"  {start:#010x}-{end:#010x}  {what:<10} {backing}")
            lines.append(f"{guest.name}: page tables (guest | shadow)  hidden faults {guest.hidden_faults}, "
                         f"true faults {guest.true_faults}")  # fmt: skip
            for va, gpa, bits, hpa, perms in guest.page_table_view(limit=256):
                g = f"{gpa:#010x} {perm_text(bits, 2, 4, 8)}" if gpa is not None else "-"
                s = f"{hpa:#010x} {perm_text(perms, 2, 4, 8)}" if hpa is not None else "(not filled)"
                lines.append(f"  {va:#010x} -> {g:<16} | {s}")
        self.update(Text("\n".join(lines)))
