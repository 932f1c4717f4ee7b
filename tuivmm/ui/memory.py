"""The memory map pane: host RAM by owner, the selected guest's guest-physical map,
and its page tables beside the VMM's shadow.

    host RAM      one row of cells, scaled, coloured by owner (each guest's window,
                  the shadow-table pool, free), with a legend: ranges and sizes
    guest map     the selected guest's guest-physical regions: its RAM with the
                  host-physical range behind it, its devices (emulated: every access
                  traps to the VMM)
    page tables   the guest's own Sv32 mappings beside the shadow the VMM keeps for
                  the guest's current view (M, S, U, bare): virtual -> guest-physical
                  -> host-physical, the guest's permissions and the shadow's, which
                  shadow entries are filled; hidden and true fault counts.  Enter
                  (Alt+A anywhere) opens the page-table browser (pagetables.py):
                  every address space the guest has used, and what each word here
                  means

`refresh_from_session` is called about ten times a second; every part redraws only
when what it shows has changed (a cheap signature first), and nothing is done while
the pane is not on display.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from machine.cpu import csrs as C
from machine.cpu.csrs import PRIV_NAMES
from tuivmm.ui.session import Session
from tuivmm.ui.tick import Tick
from tuivmm.ui.words import plural

MIB = 1 << 20
BAR_WIDTH = 64  # cells, until the bar knows its own width
PAGE_ROWS = 512  # page-table rows shown at most (a DataTable measures every row it gets)
WALK_LIMIT = 4096  # of the guest's own mappings, how many are looked at
INTERVAL_S = 0.5  # redraw the page tables at most this often (unless asked: show, filters)
RECHECK_S = 2.0  # ... and at least this often while shown (guest PTE edits without a fault)

GUEST_COLOURS = ("green3", "dodger_blue1", "gold1", "medium_purple1", "dark_orange", "turquoise2",
                 "hot_pink", "chartreuse3", "light_sky_blue1", "plum2")  # fmt: skip
POOL_COLOUR = "bright_magenta"
FREE_COLOUR = "grey39"

# Guest PTE bits (Sv32)
_R, _W, _X, _U, _G, _A, _D = 2, 4, 8, 16, 32, 64, 128


# --- small pure helpers (tested without a screen) -------------------------------------------


def perm_text(bits: int, r: int = _R, w: int = _W, x: int = _X) -> str:
    return ("r" if bits & r else "-") + ("w" if bits & w else "-") + ("x" if bits & x else "-")


def pte_text(bits: int) -> str:
    """A guest leaf PTE's permissions: "rwxu ad" with '-' for each bit clear."""
    return (perm_text(bits) + ("u" if bits & _U else "-") + " " + ("a" if bits & _A else "-")
            + ("d" if bits & _D else "-"))  # fmt: skip


def size_text(size: int) -> str:
    if size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def scale_cells(sizes: Sequence[int], width: int) -> list[int]:
    """How many of `width` cells each region gets: proportional to its size, at least
    one for every non-empty region (so the small shadow pool still shows), largest
    remainders first, adding up to `width` (unless there are more regions than cells)."""
    live = [i for i, s in enumerate(sizes) if s > 0]
    cells = [0] * len(sizes)
    if not live or width <= 0:
        return cells
    if len(live) >= width:
        for i in live:
            cells[i] = 1
        return cells
    total = sum(sizes[i] for i in live)
    shares = {i: sizes[i] * width / total for i in live}
    for i in live:
        cells[i] = max(1, int(shares[i]))
    left = width - sum(cells)
    by_remainder = sorted(live, key=lambda i: shares[i] - cells[i], reverse=True)
    for i in by_remainder[:max(0, left)]:
        cells[i] += 1
    while left < 0:  # the one-cell minimums overdrew: take from the biggest
        big = max(live, key=lambda i: cells[i])
        cells[big] -= 1
        left += 1
    return cells


def view_name(key: tuple) -> str:
    """A shadow's key as the view it is: M, M+MPRV, S, U, or bare S / bare U."""
    kind = key[0]
    if kind == "m":
        return "M"
    if kind == "mprv":
        return "M+MPRV"
    if kind == "bare":
        return f"bare {PRIV_NAMES.get(key[1], '?')}"
    return kind.upper()


def view_text(key: tuple) -> str:
    """The current view in full: which mode, satp, the SUM/MXR bits it depends on."""
    kind = key[0]
    onoff = ("off", "on")
    if kind == "m":
        return "M (untranslated: virtual = guest-physical)"
    if kind == "mprv":
        return "M with MPRV (loads and stores as MPP; emulated)"
    if kind == "bare":
        return f"bare {PRIV_NAMES.get(key[1], '?')} (satp off: virtual = guest-physical)"
    if kind == "s":
        _, satp, sum_, mxr = key
        return f"S (satp {satp:#010x}, SUM {onoff[sum_]}, MXR {onoff[mxr]})"
    if kind == "u":
        _, satp, mxr = key
        return f"U (satp {satp:#010x}, MXR {onoff[mxr]})"
    return str(key)


class PageRow(NamedTuple):
    va: int
    gpa: int | None  # None: the guest maps nothing there
    bits: int  # the guest's leaf PTE bits (0 if untranslated or unmapped)
    hpa: int | None  # None: the shadow has no entry (not filled)
    perms: int  # the shadow entry's R|W|X
    translated: bool


def _guest_leaf(v, va: int) -> tuple[int | None, int]:
    """(guest-physical page, PTE bits) the guest's table gives `va`, or (None, 0)."""
    try:
        pte, _addr, level = v.walk(va)
        return v.leaf_address(pte, level, va, 0) & ~0xFFF, pte & 0x3FF
    except Exception:  # noqa: BLE001 -- unmapped (since the shadow was filled): say so
        return None, 0


def page_rows(guest, limit: int = PAGE_ROWS, filled_only: bool = False) -> tuple[list[PageRow], bool]:
    """The guest's mappings in its current view beside the shadow's, by virtual address:
    the filled shadow entries first (each with the guest's own translation), then, unless
    `filled_only`, as many of the guest's other mappings as there is room for.  Returns
    (at most `limit` rows, whether some were left off).  Like Guest.page_table_view,
    but a filled entry is never lost behind a long list of the guest's own mappings."""
    v = guest.vcpu
    table = guest.shadows.get(guest.context_key())
    shadow = table.mappings() if table is not None else []
    translated = bool(v.satp & C.SATP_MODE) and v.priv != C.M
    more = len(shadow) > limit
    mappings = guest.guest_mappings(WALK_LIMIT) if translated and not filled_only else []
    own = {va: (gpa, bits) for va, gpa, bits in mappings}
    rows: dict[int, PageRow] = {}
    for va, hpa, perms in shadow[:limit]:
        if not translated:
            gpa, bits = va, 0
        else:
            gpa, bits = own.get(va) or _guest_leaf(v, va)
        rows[va] = PageRow(va, gpa, bits, hpa, perms, translated)
    if mappings:
        room = limit - len(rows)
        extra = [m for m in mappings if m[0] not in rows]
        more = more or len(extra) > room or len(mappings) >= WALK_LIMIT
        for va, gpa, bits in extra[: max(0, room)]:
            rows[va] = PageRow(va, gpa, bits, None, 0, True)
    return [rows[va] for va in sorted(rows)], more


def page_cells(row: PageRow) -> tuple:
    """One page-table row as the table's cells."""
    va = f"{row.va:#010x}"
    if row.gpa is None:
        gpa, guest = Text("—", style="dim"), Text("not mapped", style="dim")
    else:
        gpa = f"{row.gpa:#010x}"
        if not row.translated:
            guest = Text("no paging", style="dim")
        else:
            guest = Text(pte_text(row.bits), style="bold" if row.bits & _U else "yellow")
    if row.hpa is None:
        hpa, shadow, filled = Text("—", style="dim"), Text("---", style="dim"), Text("")
    else:
        hpa, shadow, filled = f"{row.hpa:#010x}", perm_text(row.perms), Text("●", style="green")
    return va, gpa, guest, hpa, shadow, filled


VIRTIO_KINDS = {1: "network card", 2: "disk"}


def gpa_regions(guest) -> list[tuple[int, int, str, int | None]]:
    """The guest-physical map as the pane lists it: each virtio-mmio slot named by what
    is in it, and a run of empty slots as one row."""
    if guest is None:
        return []
    kinds = {f"virtio{slot}": VIRTIO_KINDS.get(t.device.device_id, "device") for slot, t in guest.board.virtio.items()}
    rows: list[tuple[int, int, str, int | None]] = []
    empty: list[tuple[int, int, str]] = []

    def flush() -> None:
        if empty:
            first, last = empty[0][2], empty[-1][2]
            names = first if first == last else f"{first}–{last.removeprefix('virtio')}"
            rows.append((empty[0][0], empty[-1][1], f"{names} (empty)", None))
            empty.clear()

    for start, end, what, host in guest.memory_map():
        if what.startswith("virtio") and host is None and what not in kinds:
            if empty and empty[-1][1] != start:
                flush()
            empty.append((start, end, what))
            continue
        flush()
        rows.append((start, end, f"{what} ({kinds[what]})" if what in kinds else what, host))
    flush()
    return rows


def on_display(widget: Widget) -> bool:
    """Whether the widget is mounted and neither it nor any container around it is
    hidden (a ContentSwitcher or TabbedContent hides the panes not shown)."""
    if not widget.is_mounted:
        return False
    node = widget
    while isinstance(node, Widget):
        if not node.display or not node.visible:
            return False
        node = node.parent
    return True


def sync_table(table: DataTable, shown: list[tuple[str, tuple]], rows: list[tuple[str, tuple]],
               columns: Sequence[str]) -> list[tuple[str, tuple]]:  # fmt: skip
    """Make `table` show `rows` ((key, cells) each), given what it shows now (`shown`):
    the changed cells only when the same rows remain, else the rows afresh (keeping the
    cursor on the same row where it can).  Returns what it shows now."""
    if [k for k, _ in shown] == [k for k, _ in rows]:
        for (key, old), (_, new) in zip(shown, rows):
            if old != new:
                for column, a, b in zip(columns, old, new):
                    if a != b:
                        table.update_cell(key, column, b)
        return rows
    cursor_key = shown[table.cursor_row][0] if shown and 0 <= table.cursor_row < len(shown) else None
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if cursor_key is not None:
        index = next((i for i, (k, _) in enumerate(rows) if k == cursor_key), None)
        if index is not None:
            table.move_cursor(row=index, animate=False, scroll=False)
    return rows


def sync_slots(table: DataTable, shown: list[tuple], rows: list[tuple], columns: Sequence[str]) -> list[tuple]:
    """Make `table` show `rows` (cells each) in its rows keyed "0", "1", ...: a row
    whose cells changed gets just those cells updated, rows are added or removed at
    the end only, so a table of hundreds of rows is not measured afresh each time."""
    n_old, n_new = len(shown), len(rows)
    if n_old and (n_old - n_new > 64 or not n_new):
        table.clear()
        shown, n_old = [], 0
    for i in range(min(n_old, n_new)):
        old, new = shown[i], rows[i]
        if old != new:
            for column, a, b in zip(columns, old, new):
                if a != b:
                    table.update_cell(str(i), column, b)
    for i in range(n_new, n_old):
        table.remove_row(str(n_new + n_old - 1 - i))  # from the end
    for i in range(n_old, n_new):
        table.add_row(*rows[i], key=str(i))
    return rows


def owner_colours(session: Session) -> dict[str, str]:
    return {g.name: GUEST_COLOURS[i % len(GUEST_COLOURS)] for i, g in enumerate(session.guests)}


# --- the pane ----------------------------------------------------------------------------------

GPA_COLUMNS = ("range", "size", "region", "backing")
PT_COLUMNS = ("virtual", "guest-physical", "guest rwxu ad", "host-physical", "shadow rwx", "filled")
PT_WIDTHS = (10, 14, 13, 13, 10, 6)
BROWSER_HINT = "Enter or Alt+A: every address space, and what each word here means"


class MemoryPane(VerticalScroll):
    """Who owns host RAM, and how the selected guest's memory reaches it.  One scroll
    for all of it: with the keyboard (Alt+M) the arrows and PgUp/PgDn scroll it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "app.page_tables", "Address spaces", show=False)]

    DEFAULT_CSS = """
    MemoryPane { height: 1fr; }
    MemoryPane .mem-title { height: 1; text-style: bold; color: $accent; }
    MemoryPane #mem-bar { height: 1; }
    MemoryPane #mem-legend { height: auto; margin-bottom: 1; }
    MemoryPane #mem-gpa { height: auto; margin-bottom: 1; }
    MemoryPane #mem-pt-row { height: auto; }
    MemoryPane #mem-pt-hint { height: auto; color: $text-muted; }
    MemoryPane #mem-pt-info { width: 1fr; height: auto; }
    MemoryPane #mem-filled-only { width: auto; }
    MemoryPane #mem-pt { height: auto; }
    """

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.guest_name: str | None = None
        self._host_sig: object = None
        self._gpa_sig: object = None
        self._pt_sig: object = None
        self._pt_at = 0.0
        self._pt_ran = -1  # the guest's instructions when the page tables were last walked
        self.interval = INTERVAL_S  # page tables: at most this often, unless forced
        self._force = False
        self._gpa_rows: list[tuple[str, tuple]] = []
        self._pt_rows: list[tuple] = []  # the page table's cells, row by row
        self._pt_vas: list[int] = []  # ... and each row's virtual page
        self._info: Text | str = ""
        self._legend_text = Text()
        self._bar_text = Text()
        self._ready = False

    def compose(self) -> ComposeResult:
        yield Static("host RAM", classes="mem-title", id="mem-host-title")
        yield Static(id="mem-bar")
        yield Static(id="mem-legend")
        yield Static("guest-physical map", classes="mem-title", id="mem-gpa-title")
        yield DataTable(id="mem-gpa", cursor_type="none", zebra_stripes=True)
        yield Static("page tables", classes="mem-title", id="mem-pt-title")
        yield Static(BROWSER_HINT, id="mem-pt-hint")
        with Horizontal(id="mem-pt-row"):
            yield Static(id="mem-pt-info")
            yield Tick("filled only", id="mem-filled-only", compact=True)
        yield DataTable(id="mem-pt", cursor_type="none", zebra_stripes=True)

    def on_mount(self) -> None:
        self._bar = self.query_one("#mem-bar", Static)
        self._legend = self.query_one("#mem-legend", Static)
        self._gpa_title = self.query_one("#mem-gpa-title", Static)
        self._gpa = self.query_one("#mem-gpa", DataTable)
        self._pt_title = self.query_one("#mem-pt-title", Static)
        self._pt_info = self.query_one("#mem-pt-info", Static)
        self._pt = self.query_one("#mem-pt", DataTable)
        self._filled_only = self.query_one("#mem-filled-only", Tick)
        for table in (self._gpa, self._pt):
            table.can_focus = False  # the pane scrolls, as one
        for column in GPA_COLUMNS:
            self._gpa.add_column(column, key=column)
        for column, width in zip(PT_COLUMNS, PT_WIDTHS):
            self._pt.add_column(column, key=column, width=width)
        self._ready = True
        self.refresh_from_session()

    def on_show(self) -> None:
        self._force = True
        self.refresh_from_session()

    def on_resize(self) -> None:
        self.refresh_from_session()

    def on_checkbox_changed(self, event: Tick.Changed) -> None:
        event.stop()
        self._force = True
        self.refresh_from_session()

    # --- public ------------------------------------------------------------------------------

    def keyboard_widget(self) -> Widget:
        """What takes the keyboard when the pane is given it (the pane itself: it scrolls)."""
        return self

    def show(self, name: str) -> None:
        self.guest_name = name
        self._force = True
        self.refresh_from_session()

    @property
    def filled_only(self) -> bool:
        return self._ready and self._filled_only.value

    def refresh_from_session(self) -> None:
        if not self._ready or not on_display(self):
            return
        with self.app.batch_update():
            self._refresh_host()
            guest = self.session.guest(self.guest_name) if self.guest_name else None
            self._refresh_gpa(guest)
            self._refresh_pages(guest)

    # --- host RAM -------------------------------------------------------------------------

    def _refresh_host(self) -> None:
        session = self.session
        regions = session.vmm.host_map()
        pool = session.vmm.pool
        width = self._bar.content_region.width or BAR_WIDTH
        sig = (tuple(regions), width, self.guest_name, pool.used)
        if sig == self._host_sig:
            return
        self._host_sig = sig
        colours = owner_colours(session)

        def kind(owner: str) -> tuple[str, str]:
            if owner.startswith("shadow pool"):
                return "shadow pool", POOL_COLOUR
            if owner == "free":
                return "free", FREE_COLOUR
            return owner, colours.get(owner, "white")

        cells = scale_cells([end - start for start, end, _ in regions], width)
        bar = Text(no_wrap=True, overflow="crop")
        for (_start, _end, owner), n in zip(regions, cells):
            label, colour = kind(owner)
            glyph = "░" if label == "free" else ("▓" if label == "shadow pool" else "█")
            bar.append(glyph * n, style=f"bold {colour}" if label == self.guest_name else colour)
        self._bar_text = bar
        self._bar.update(bar)

        legend = Text(no_wrap=True, overflow="ellipsis")
        width_name = max((len(kind(o)[0]) for _, _, o in regions), default=8)
        for i, (start, end, owner) in enumerate(regions):
            label, colour = kind(owner)
            glyph = "░░" if label == "free" else ("▓▓" if label == "shadow pool" else "██")
            if i:
                legend.append("\n")
            legend.append(glyph, style=colour)
            legend.append(f" {label:<{width_name}} {size_text(end - start):>10}  {start:#010x}–{end:#010x}",
                          style="bold" if label == self.guest_name else "")  # fmt: skip
            if label == "shadow pool":
                guest = session.guest(self.guest_name) if self.guest_name else None
                note = f"\n   {pool.used} of {pool.pages} pages used ({100 * pool.used / pool.pages:.1f}%)"
                if guest is not None:
                    mine = sum(1 + len(t.tables) for t in guest.shadows.values())
                    note += f"; {guest.name}'s {plural(len(guest.shadows), 'shadow')}: {plural(mine, 'page')}"
                legend.append(note, style="dim")
            elif label == self.guest_name:
                legend.append("  ◀ selected", style="dim")
        self._legend_text = legend
        self._legend.update(legend)

    # --- guest-physical map ----------------------------------------------------------------

    def _refresh_gpa(self, guest) -> None:
        regions = tuple(guest.memory_map()) if guest is not None else ()
        sig = (guest.name if guest else None, regions)
        if sig == self._gpa_sig:
            return
        self._gpa_sig = sig
        self._gpa_title.update(f"guest-physical map of {guest.name}" if guest else "guest-physical map (no guest selected)")
        rows = []
        for start, end, what, host in gpa_regions(guest):
            if host is not None:
                backing = Text(f"host {host:#010x}–{host + end - start:#010x}", style="green")
            else:
                backing = Text("emulated: each access traps", style="dark_orange")
            rows.append((what, (f"{start:#010x}–{end:#010x}", size_text(end - start), what, backing)))
        self._gpa_rows = sync_table(self._gpa, self._gpa_rows, rows, GPA_COLUMNS)

    # --- page tables --------------------------------------------------------------------------

    def _refresh_pages(self, guest) -> None:
        now = time.monotonic()
        if guest is None:
            sig = None
        else:
            current = guest.shadows.get(guest.context_key())
            sig = (guest.name, guest.context_key(), guest.hidden_faults, guest.true_faults, guest.flushes,
                   len(guest.shadows), current.filled if current is not None else -1, self.filled_only,
                   guest.vcpu.priv)  # fmt: skip
        # The guest's own tables change without a fault only while it runs (its stores):
        # a guest that has retired nothing since the last look needs no new walk.
        ran = guest.retired_total if guest is not None else 0
        if not self._force:
            if sig == self._pt_sig and (now - self._pt_at < RECHECK_S or ran == self._pt_ran):
                return
            if now - self._pt_at < self.interval:
                return
        self._force = False
        self._pt_sig, self._pt_at, self._pt_ran = sig, now, ran
        if guest is None:
            self._pt_title.update("page tables (no guest selected)")
            self._set_info("")
            self._pt_rows = sync_slots(self._pt, self._pt_rows, [], PT_COLUMNS)
            self._pt_vas = []
            return
        key = guest.context_key()
        rows, more = page_rows(guest, PAGE_ROWS, self.filled_only)
        filled = sum(1 for r in rows if r.hpa is not None)
        self._pt_title.update(f"page tables of {guest.name}: the guest's own beside the VMM's shadow")
        info = Text()
        info.append("view ")
        info.append(view_text(key), style="bold")
        info.append("  ·  hidden faults ")
        info.append(f"{guest.hidden_faults:,}", style="bold")
        info.append("  ·  true faults ")
        info.append(f"{guest.true_faults:,}", style="bold red" if guest.true_faults else "bold")
        kept = ", ".join(view_name(k) for k in guest.shadows) or "none"
        info.append(f"  ·  shadows kept: {kept}  ·  {filled} filled of {len(rows)} rows"
                    + (" (more left off)" if more else ""))  # fmt: skip
        self._set_info(info)
        self._pt_rows = sync_slots(self._pt, self._pt_rows, [page_cells(r) for r in rows], PT_COLUMNS)
        self._pt_vas = [r.va for r in rows]

    def _set_info(self, info: Text | str) -> None:
        if info != self._info:
            self._info = info
            self._pt_info.update(info)

    # --- for tests and the app ------------------------------------------------------------------

    def page_row(self, va: int) -> dict[str, str] | None:
        """The page-table row shown for virtual page `va`, as text by column."""
        try:
            cells = self._pt_rows[self._pt_vas.index(va & ~0xFFF)]
        except ValueError:
            return None
        return {column: str(cell) for column, cell in zip(PT_COLUMNS, cells)}

    def page_table(self) -> list[dict[str, str]]:
        """Every page-table row shown, as text by column."""
        return [{column: str(cell) for column, cell in zip(PT_COLUMNS, cells)} for cells in self._pt_rows]

    def legend_text(self) -> str:
        return self._legend_text.plain

    def bar_text(self) -> Text:
        return self._bar_text

    def info_text(self) -> str:
        return str(self._info)
