"""Alt+A (or Enter in the memory map): the page-table browser.

Every address space the selected guest has used — each satp it has written (for
unix, one per process and the kernel's), and no paging at all — and, for the one
chosen, two tables:

    the guest's table   what the guest OS believes: both levels as its hardware
                        walks them, virtual -> guest-physical -> host-physical, with
                        the PTE's bits, 4 MiB superpages marked, and how many of each
                        run's pages the shadow has filled
    the VMM's shadow    what the VMM built and the real MMU walks: its second-level
                        tables, the filled entries, and whether the guest's table
                        still says the same for each

and a legend: one line for every word the memory map uses.  Wide (WIDE columns and
up) the two tables stand side by side; narrower, one above the other.  The legend
shows under them on a tall screen (TALL lines and up); on a short one `?` shows it
in their place.

The walk is tuivmm.vmm.spaces's; this screen only lays it out.  It samples again
once a second while the dashboard runs (and on `r`); snapshot tests, with the
dashboard's timer off, get one still picture.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from machine.clock import TIMEBASE_HZ
from tuivmm.ui.memory import gpa_regions, perm_text, sync_table, view_name, view_text
from tuivmm.ui.words import plural
from tuivmm.vmm.exits import MRET_DOOR
from tuivmm.vmm.spaces import PAGE, GuestRun, SpaceUse, SpaceView, address_spaces, current_space, inspect_space

# The words of the memory map (and of this browser), a line each (at most 78 columns
# with the term, so each fits an 80-column terminal); F1's help lists them too.
LEGEND = (
    ("view", "the guest's mode as the VMM sees it: M, S, U; bare S/U: satp off"),
    ("kept", "shadows held, one per view; satp, full SFENCE drop all but M's"),
    ("filled", "● the shadow maps the page: the real MMU needs no VMM for it"),
    ("hidden fault", "a page the guest maps but the shadow lacks: filled, never seen"),
    ("true fault", "the guest's own table forbids it: the fault goes to the guest"),
    ("rwxu ad", "the guest's PTE bits; the shadow's rwx has w only once d is set"),
    ("shadow pool", "host RAM with every guest's shadow tables, out of guests' reach"),
    ("door", f"{MRET_DOOR:#010x} is the VMM's: in no shadow, a flawed MRET traps there"),
)

GUEST_COLUMNS = ("virtual", "level", "guest-phys", "host-phys", "rwxugad", "in shadow", "note")
SHADOW_COLUMNS = ("view", "virtual", "level", "pages", "host-phys", "rwx", "the guest's table says")
SAMPLE_S = 1.0  # while the dashboard runs: walk again this often
WIDE = 180  # columns from which the two tables stand side by side
TALL = 40  # lines from which the legend shows under them


def legend_text() -> Text:
    width = max(len(term) for term, _ in LEGEND)
    text = Text()
    for i, (term, meaning) in enumerate(LEGEND):
        if i:
            text.append("\n")
        text.append(f"{term:>{width}}  ", style="bold")
        text.append(meaning)
    return text


# --- rows (pure: tested without a screen) ---------------------------------------------------


def space_id(satp: int | None) -> str:
    return "bare" if satp is None else f"{satp:#010x}"


def space_label(use: SpaceUse, current: int | None) -> Text:
    """One address space as the list shows it."""
    now = use.satp == current
    text = Text("● " if now else "  ", style="green" if now else "")
    if use.satp is None:
        text.append("no paging", style="bold")
        text.append(" (M-mode, satp off)")
    else:
        text.append(f"satp {use.satp:#010x}", style="bold")
        text.append(f"  ASID {use.asid}  root {use.root:#010x}")
    if use.writes:
        text.append(f"  {plural(use.writes, 'write')}, last at {use.last_cycles / TIMEBASE_HZ:.2f} s", style="dim")
    elif use.satp is not None:
        text.append("  (not written since a restore)", style="dim")
    if now:
        text.append("  now", style="green")
    return text


def flags_text(bits: int) -> str:
    """A leaf PTE's bits as "rwxugad", '-' for each bit clear."""
    return "".join(c if bits & b else "-" for c, b in zip("rwxugad", (2, 4, 8, 16, 32, 64, 128)))


def range_text(start: int, end: int) -> str:
    return f"{start:#010x}–{end - 1:#010x}"


def _filled_text(counts: dict[tuple, int], pages: int) -> Text:
    if not counts:
        return Text(f"0/{pages}", style="dim")
    return Text(", ".join(f"{n}/{pages} {view_name(key)}" for key, n in counts.items()), style="green")


def device_at(regions, gpa: int, end: int) -> str:
    """What the guest-physical map has in [gpa, end), for a mapping outside guest RAM
    (`regions` as memory.gpa_regions gives them)."""
    names = [what for start, stop, what, _host in regions if start < end and gpa < stop]
    if not names:
        return "nothing there: an access fault"
    return f"{', '.join(names)}: emulated"


def guest_cells(run: GuestRun, counts: dict[tuple, int], regions) -> tuple:
    """One row of the guest's side."""
    virtual: Text | str = range_text(run.va, run.end)
    hpa = Text("—", style="dim") if run.hpa is None else f"{run.hpa:#010x}"
    flags = Text(flags_text(run.bits), style="bold" if run.bits & 16 else "yellow")
    filled = _filled_text(counts, run.pages)
    note = Text(run.problem, style="red") if run.problem else Text("")
    if run.kind == "pointer":
        virtual = Text(virtual, style="bold")
        level = Text(f"L1[{run.slot}]", style="bold")
        flags, filled = Text("(table)", style="dim"), Text("")
    elif run.kind == "untranslated":
        level, flags = Text("no paging", style="dim"), Text("")
        if run.hpa is not None:
            note = Text(f"{run.what}: guest RAM", style="dim")
    elif run.kind == "superpage":
        level = Text("L1 4MiB", style="magenta")  # a superpage: the walk ends at the first level
    else:
        level = Text("  L0")
    if run.leaf and not run.problem:
        if run.holds_door:
            note = Text(f"the VMM's door ({MRET_DOOR:#010x}): never in a shadow", style="yellow")
        elif run.hpa is None:
            note = Text(device_at(regions, run.gpa, run.gpa + run.pages * PAGE), style="dark_orange")
    return virtual, level, f"{run.gpa:#010x}", hpa, flags, filled, note


def guest_rows(view: SpaceView, regions) -> list[tuple[str, tuple]]:
    return [
        (f"{run.kind}:{run.va:x}", guest_cells(run, counts, regions)) for run, counts in zip(view.runs, view.filled)
    ]


_AGREES = {"same": Text("the same", style="green"), "none": Text("maps nothing there: stale", style="red"),
           "differs": Text("maps it elsewhere: stale", style="red")}  # fmt: skip


def shadow_rows(view: SpaceView) -> list[tuple[str, tuple]]:
    """The shadows' side: for each kept shadow, each of its second-level tables
    (a first-level entry) followed by its runs of filled entries."""
    rows = []
    for shadow in view.shadows:
        name = view_name(shadow.key)
        runs = [r for r in view.shadow_runs if r.key == shadow.key]
        for vpn1, table in shadow.tables:
            lo, hi = vpn1 << 22, (vpn1 + 1) << 22
            inside = [r for r in runs if lo <= r.va < hi]
            rows.append((f"{shadow.key}:t{vpn1}", (Text(name, style="bold"), Text(range_text(lo, hi), style="bold"),
                         Text(f"L1[{vpn1}]", style="bold"), str(sum(r.pages for r in inside)), f"{table:#010x}",
                         Text("(table)", style="dim"), Text(""))))  # fmt: skip
            for r in inside:
                rows.append((f"{shadow.key}:{r.va:x}", (name, range_text(r.va, r.end), "  L0", str(r.pages),
                             f"{r.hpa:#010x}", perm_text(r.perms), _AGREES[r.guest])))  # fmt: skip
    return rows


def guest_heading(view: SpaceView, guest) -> Text:
    text = Text()
    text.append("the guest's table", style="bold")
    text.append(" — what the guest OS believes: ")
    if view.walk is None:
        text.append("no paging, every virtual address is the guest-physical one (its RAM is a window of host RAM)")
        return text
    walk = view.walk
    text.append(f"satp {walk.satp:#010x}, root {walk.root:#010x}")
    if walk.root_hpa is not None:
        text.append(f" (host {walk.root_hpa:#010x})")
    leaves = [r for r in view.runs if r.leaf]
    pages = sum(r.pages for r in leaves if not r.problem)
    text.append(f"; {plural(len(view.runs), 'row')}, {pages:,} pages mapped")
    if walk.problem:
        text.append(f"; {walk.problem}", style="red")
    if walk.truncated:
        text.append(" (more left off)", style="dim")
    if view.root_changed:
        text.append("; its root is not what it was when the guest last switched to it: freed and used again "
                    "(a process that has exited?), so this is whatever that page holds now", style="yellow")  # fmt: skip
    elif view.satp != current_space(guest):
        text.append("; read as it is now", style="dim")
    return text


def shadow_heading(view: SpaceView) -> Text:
    text = Text()
    text.append("the VMM's shadow", style="bold")
    text.append(" — what the real MMU walks: ")
    if not view.shadows:
        if view.satp is None:
            text.append("none kept: the guest has not run untranslated since the last flush", style="dim")
        else:
            text.append("none kept: the VMM dropped them at the guest's next satp write; it fills them again, "
                        "a hidden fault at a time, when the guest comes back here", style="dim")  # fmt: skip
        return text
    for i, shadow in enumerate(view.shadows):
        if i:
            text.append("; ")
        text.append(view_text(shadow.key), style="bold")
        text.append(f": root {shadow.root:#010x}, {plural(len(shadow.tables), 'second-level table')}, "
                    f"{plural(shadow.filled, 'page')} filled")  # fmt: skip
    return text


# --- the screen ----------------------------------------------------------------------------------


class PageTableBrowser(ModalScreen[None]):
    """The address spaces of guest `name`, the chosen one's table beside its shadows."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (TALL, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,alt+a", "close", "Close"),
        Binding("question_mark", "legend", "Legend"),
        Binding("r", "sample", "Walk again"),
    ]

    DEFAULT_CSS = """
    PageTableBrowser { background: $surface; }
    PageTableBrowser #pt-browser { height: 1fr; padding: 0 1; }
    PageTableBrowser #pt-title { height: 1; text-style: bold; color: $accent; }
    PageTableBrowser #pt-spaces { height: auto; max-height: 4; }
    PageTableBrowser.-tall #pt-spaces { max-height: 10; margin-bottom: 1; }
    PageTableBrowser #pt-sides { height: 1fr; }
    PageTableBrowser.-wide #pt-sides { layout: horizontal; }
    PageTableBrowser.-narrow #pt-sides { layout: vertical; }
    PageTableBrowser .pt-side { height: 1fr; width: 1fr; }
    PageTableBrowser.-wide #pt-shadow-side { width: 92; margin-left: 1; }
    PageTableBrowser .pt-heading { height: auto; max-height: 2; color: $text-muted; }
    PageTableBrowser.-tall .pt-heading { max-height: 4; }
    PageTableBrowser DataTable { height: 1fr; }
    PageTableBrowser #pt-legend { height: auto; margin-top: 1; color: $text-muted; }
    PageTableBrowser.-short #pt-legend { display: none; }
    PageTableBrowser.-short.-legend #pt-legend { display: block; height: 1fr; margin-top: 0; }
    PageTableBrowser.-short.-legend #pt-sides { display: none; }
    PageTableBrowser.-tall.-no-legend #pt-legend { display: none; }
    PageTableBrowser #pt-keys { height: 1; color: $text-muted; }
    """

    def __init__(self, session, name: str, *, live: bool = True):
        super().__init__()
        self.session = session
        self.guest_name = name
        self.live = live
        self.chosen: int | None = None  # the satp shown (None: no paging)
        self._opened = False  # the first sample chooses the space the guest runs in
        self._spaces: list[tuple[str, Text]] = []
        self._guest_rows: list[tuple[str, tuple]] = []
        self._shadow_rows: list[tuple[str, tuple]] = []
        self._ran = -1

    def compose(self) -> ComposeResult:
        with Vertical(id="pt-browser"):
            yield Static(id="pt-title")
            yield OptionList(id="pt-spaces", markup=False, compact=True)
            with Vertical(id="pt-sides"):
                with Vertical(id="pt-guest-side", classes="pt-side"):
                    yield Static(id="pt-guest-heading", classes="pt-heading")
                    yield DataTable(id="pt-guest", cursor_type="row", zebra_stripes=True)
                with Vertical(id="pt-shadow-side", classes="pt-side"):
                    yield Static(id="pt-shadow-heading", classes="pt-heading")
                    yield DataTable(id="pt-shadow", cursor_type="row", zebra_stripes=True)
            yield Static(legend_text(), id="pt-legend")
            yield Static(id="pt-keys")

    def on_mount(self) -> None:
        for table, columns in ((self.guest_table, GUEST_COLUMNS), (self.shadow_table, SHADOW_COLUMNS)):
            for column in columns:
                table.add_column(column, key=column)
        self.sample()
        self.query_one(OptionList).focus()
        if self.live:
            self.set_interval(SAMPLE_S, self._tick)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_keys)  # once the breakpoints' classes are set

    @property
    def guest_table(self) -> DataTable:
        return self.query_one("#pt-guest", DataTable)

    @property
    def shadow_table(self) -> DataTable:
        return self.query_one("#pt-shadow", DataTable)

    # --- sampling ----------------------------------------------------------------------------

    def _tick(self) -> None:
        guest = self.session.guest(self.guest_name)
        if guest is not None and guest.retired_total != self._ran:
            self.sample()

    def action_sample(self) -> None:
        self.sample()

    def sample(self) -> None:
        """Read the guest's address spaces again and show the chosen one."""
        guest = self.session.guest(self.guest_name)
        title = self.query_one("#pt-title", Static)
        if guest is None:
            title.update(f"{self.guest_name} is gone")
            return
        self._ran = guest.retired_total
        current = current_space(guest)
        if not self._opened:
            self.chosen, self._opened = current, True
        spaces = address_spaces(guest)
        if all(use.satp != self.chosen for use in spaces):
            self.chosen = current  # it was forgotten (a reset, or 64 newer ones)
        forgotten = f"; {guest.spaces.forgotten} older forgotten" if guest.spaces.forgotten else ""
        title.update(f"address spaces of {guest.name}: {plural(len(spaces) - 1, 'satp value')} written, and no "
                     f"paging{forgotten}")  # fmt: skip
        self._show_spaces([(space_id(use.satp), space_label(use, current)) for use in spaces])
        self._show_space(guest)
        self._show_keys()

    def _show_spaces(self, spaces: list[tuple[str, Text]]) -> None:
        options = self.query_one(OptionList)
        if [(k, t.plain) for k, t in spaces] != [(k, t.plain) for k, t in self._spaces]:
            options.clear_options()
            options.add_options([Option(label, id=key) for key, label in spaces])
            self._spaces = spaces
        index = options.get_option_index(space_id(self.chosen))
        if options.highlighted != index:
            options.highlighted = index

    def _show_space(self, guest) -> None:
        view = inspect_space(guest, self.chosen)
        regions = gpa_regions(guest)
        self.query_one("#pt-guest-heading", Static).update(guest_heading(view, guest))
        self.query_one("#pt-shadow-heading", Static).update(shadow_heading(view))
        self._guest_rows = sync_table(self.guest_table, self._guest_rows, guest_rows(view, regions), GUEST_COLUMNS)
        self._shadow_rows = sync_table(self.shadow_table, self._shadow_rows, shadow_rows(view), SHADOW_COLUMNS)

    def _show_keys(self) -> None:
        short = self.has_class("-short")
        legend = "?: the words" if short else "?: hide the words"
        if short and self.has_class("-legend"):
            legend = "?: back to the tables"
        self.query_one("#pt-keys", Static).update(f"↑↓ choose · Tab: the tables · {legend} · r: walk again · Esc")

    # --- choosing ----------------------------------------------------------------------------

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != event.option_list.highlighted:
            return  # from before the list was rebuilt
        key = event.option.id
        satp = None if key == "bare" else int(key, 16)
        if satp != self.chosen:
            self.chosen = satp
            guest = self.session.guest(self.guest_name)
            if guest is not None:
                self._show_space(guest)

    def action_legend(self) -> None:
        if self.has_class("-short"):
            self.toggle_class("-legend")
        else:
            self.toggle_class("-no-legend")
        self._show_keys()

    def action_close(self) -> None:
        self.dismiss(None)

    # --- for tests ------------------------------------------------------------------------------

    def guest_text(self) -> list[dict[str, str]]:
        return [{c: str(cell) for c, cell in zip(GUEST_COLUMNS, cells)} for _, cells in self._guest_rows]

    def shadow_text(self) -> list[dict[str, str]]:
        return [{c: str(cell) for c, cell in zip(SHADOW_COLUMNS, cells)} for _, cells in self._shadow_rows]
