"""The exit counters: like kvm_stat, the selected guest's exits by reason with totals
and rates per second (the session's `sample`), what the VMM did about them, and a
sparkline of the total exit rate over time."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Sparkline, Static

from tuivmm.ui.memory import on_display, sync_table
from tuivmm.ui.session import Session
from tuivmm.ui.traps import REASON_STYLES

COUNTER_COLUMNS = ("exit reason", "total", "per second", "share")
# Fixed widths: the figures grow as the guest runs, and a column sized by its first
# rows would cut them ("15,48" for 15,480).
COUNTER_WIDTHS = (14, 13, 10, 6)


class CountersPane(VerticalScroll):
    """Exits by reason for the selected guest, the most frequent first: totals and
    rates, and the total rate's recent history.  It scrolls (Alt+X gives it the
    keyboard)."""

    DEFAULT_CSS = """
    CountersPane { height: 1fr; }
    CountersPane #ctr-title { height: auto; }
    CountersPane #ctr-spark { height: 2; margin-bottom: 1; }
    CountersPane #ctr-table { height: auto; margin-bottom: 1; }
    CountersPane #ctr-actions { height: auto; color: $text-muted; }
    """

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None
        self._rows: list[tuple[str, tuple]] = []
        self._texts: dict[str, object] = {}
        self._history: tuple = ()
        self._ready = False
        self.interval = 0.5  # redraw at most this often (a kvm_stat is read, not watched), unless shown anew
        self._at = -1e9

    def compose(self) -> ComposeResult:
        yield Static(id="ctr-title")
        yield Sparkline([], id="ctr-spark")
        yield DataTable(id="ctr-table", cursor_type="none", zebra_stripes=True)
        yield Static(id="ctr-actions")

    def on_mount(self) -> None:
        self._table = self.query_one("#ctr-table", DataTable)
        self._spark = self.query_one("#ctr-spark", Sparkline)
        for column, width in zip(COUNTER_COLUMNS, COUNTER_WIDTHS, strict=True):
            self._table.add_column(column, key=column, width=width)
        self._table.can_focus = False  # the pane scrolls, as one
        self._ready = True
        self.refresh_from_session()

    def on_show(self) -> None:
        self._at = -1e9
        self.refresh_from_session()

    def show(self, name: str) -> None:
        self.guest_name = name
        self._at = -1e9
        self.refresh_from_session()

    def keyboard_widget(self) -> Widget:
        """What takes the keyboard when the pane is given it (the pane itself: it scrolls)."""
        return self

    def _set(self, wid: str, text) -> None:
        if self._texts.get(wid) != text:
            self._texts[wid] = text
            self.query_one(f"#{wid}", Static).update(text)

    def refresh_from_session(self) -> None:
        if not self._ready or not on_display(self):
            return
        now = time.monotonic()
        if now - self._at < self.interval:
            return
        self._at = now
        guest = self.session.guest(self.guest_name) if self.guest_name else None
        with self.app.batch_update():
            if guest is None:
                self._set("ctr-title", "exit counters (no guest selected)")
                self._rows = sync_table(self._table, self._rows, [], COUNTER_COLUMNS)
                self._set("ctr-actions", "")
                if self._history:
                    self._history = ()
                    self._spark.data = []
                return
            figures = self.session.figures.get(guest.name)
            rates = figures.exit_rates if figures is not None else {}
            history = tuple(figures.meter.history) if figures is not None else ()
            log = guest.log
            total_rate = sum(rates.values())
            title = Text.assemble((guest.name, "bold"), f": {log.total:,} exits  ·  ", (f"{total_rate:,.0f}/s", "bold"),
                                  " now" + (f", peak {max(history):,.0f}/s lately" if history else ""))  # fmt: skip
            self._set("ctr-title", title)
            if history != self._history:
                self._history = history
                self._spark.data = list(history)
            rows = []
            # The most frequent first (the order of REASONS among equals), so the reasons
            # that matter are on screen however short the pane.
            by_count = sorted(log.counts.items(), key=lambda item: -item[1])
            for reason, count in by_count:
                rate = rates.get(reason, 0.0)
                share = f"{100 * count / log.total:.1f}%" if log.total else "-"
                rows.append((reason, (Text(reason, style=REASON_STYLES.get(reason, "")),
                                      Text(f"{count:,}", justify="right"),
                                      Text(f"{rate:,.0f}", justify="right", style="bold" if rate else "dim"),
                                      Text(share, justify="right"))))  # fmt: skip
            rows.append(("total", (Text("total", style="bold"), Text(f"{log.total:,}", justify="right", style="bold"),
                                   Text(f"{total_rate:,.0f}", justify="right", style="bold"), Text(""))))  # fmt: skip
            self._rows = sync_table(self._table, self._rows, rows, COUNTER_COLUMNS)
            actions = "  ·  ".join(f"{action} {n:,}" for action, n in sorted(log.actions.items(), key=lambda a: -a[1]))
            self._set(
                "ctr-actions",
                f"by action: {actions or 'none yet'}\n{guest.direct_instructions:,} instructions "
                f"run directly, {guest.emulated_instructions:,} emulated  ·  {guest.flushes:,} shadow flushes"
                f" + {guest.page_flushes:,} of one page",
            )
