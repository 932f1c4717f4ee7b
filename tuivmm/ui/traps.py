"""The trap log pane and the exit counters."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tuivmm.ui.session import Session


class TrapLogPane(Static):
    """The newest exits of the selected guest (or of all), newest at the bottom."""

    def __init__(self, session: Session, lines: int = 200, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None
        self.lines = lines

    def show(self, name: str | None) -> None:
        self.guest_name = name
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        guests = [g for g in self.session.guests if self.guest_name in (None, g.name)]
        events = sorted((e for g in guests for e in list(g.log.events)[-self.lines:]), key=lambda e: e.seq)
        self.update(Text("\n".join(e.describe() for e in events[-self.lines:])))


class CountersPane(Static):
    """Exits by reason for the selected guest: totals and rates."""

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None

    def show(self, name: str) -> None:
        self.guest_name = name
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        guest = self.session.guest(self.guest_name) if self.guest_name else None
        if guest is None:
            self.update("")
            return
        rates = self.session.figures[guest.name].exit_rates
        lines = [f"{reason:<12} {count:>10} {rates.get(reason, 0.0):>10.0f}/s" for reason, count in guest.log.counts.items()]
        self.update(Text("\n".join(lines)))
