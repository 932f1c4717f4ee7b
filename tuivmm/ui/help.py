"""F1: what each pane shows, the keys, and the lecture's table."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from tuivmm.ui.pagetables import LEGEND

HELP = """\
# tuivmm — a trap-and-emulate hypervisor you can watch

Every guest below runs on **one** simulated RISC-V hart. Guest code runs there in
U-mode; whenever it does something only a privileged mode may do, the hart traps
to the virtual machine monitor, which *emulates* the instruction on the guest's
virtual hart, or *injects* the trap into the guest, as its own hardware would.

## The panes

- **Guest list** (top, like `virt-top`): one row per guest: its state (running,
  idle in WFI, paused, halted, crashed, stopped, in debugger), its *virtual* privilege (M, S or
  U: what the guest believes it runs in; the real hart is always in U), its pc,
  millions of guest instructions per second of wall time, exits per second (how
  often it traps to the monitor), its RAM, its uptime (the guest's own virtual
  clock), the remedy for the ERET flaw, and why it stopped. On a narrow terminal the
  less needed columns are left out; with more guests than fit, it scrolls to keep
  the selected one in view (its bottom edge says how many more there are).
- **Console**: the selected guest's UART as a VT100 screen. It has the keyboard:
  everything you type goes to the guest (Ctrl-C, Tab and arrows too); only the
  function keys and Alt combinations are the dashboard's.
- **Memory map**: host RAM by owner (the shadow page-table pool, each guest's
  window, free space), the guest-physical map (RAM and emulated devices), and the
  guest's own page table beside the monitor's *shadow* table, which the real MMU
  walks. A page the guest maps but the shadow lacks is filled on a *hidden*
  fault; one the guest's table forbids is a *true* fault, injected. Enter there
  (Alt+A anywhere) opens the *page-table browser*: every address space the guest
  has used (each satp it wrote: for unix, one per process and the kernel's), its
  table walked level by level beside the shadow the VMM built for it.
- **Registers** (Alt+V): the selected guest's *virtual* hart: its pc and
  privilege, x1–x31 by ABI name, and the CSRs that matter, each decoded into its
  fields (mstatus's MIE/MPIE/MPP and SIE/SPIE/SPP, satp's mode, ASID and root
  table, the interrupt bits of mie, mip and mideleg, the exceptions medeleg hands
  to S, the trap vectors and what the last trap into M or S left in xepc, xcause
  and xtval). This is the state the monitor keeps *for* the guest and changes as
  it emulates: the privilege the guest believes it runs in, the CSRs its CSR
  instructions read and write. The real hart runs every guest in U-mode. What
  changed since the pane last showed this guest is in reverse video: after F6,
  what that one instruction (or the trap it caused) did.
- **Trap log**: the newest exits, newest at the bottom: the guest, its virtual
  time, the pc, the virtual privilege, the instruction, the cause, and what the
  monitor did (emulated, injected, hidden fault, MMIO, hypercall). Its controls
  choose which exits it shows: by what the monitor did (emulated, injected, hidden
  or true fault, MMIO read or write, hypercall, SBI call, bt scan/patch, xRET caught,
  interrupt delivered, WFI) or the exit kind, this guest or all, and a text (`/`:
  only lines holding it). A reset leaves a line in it. ↑ and ↓ select a line;
  Enter (or a click on the selected line) opens it in the trap inspector.
- **Trap inspector** (Enter on a trap-log line, or Alt+I from anywhere): one exit,
  opened. The instruction and its fields; *why it left the real hart* (the guest's
  kernel runs in the real U-mode, so whatever only a privileged mode may do traps);
  *what the VMM did*: **emulated** (carried it out on the guest's virtual hart),
  **injected** (delivered the trap to the guest, as its own hardware would),
  a **hidden fault** (the shadow lacked a page the guest's own table allows: filled,
  the guest never knows) or a **true fault** (the guest's table forbids it:
  injected); then every register and CSR of the guest's virtual hart the exit
  changed, before → after. A page fault shows the guest's own two-level walk beside
  the shadow entry the monitor made; an injection, the xepc, xcause, xtval and
  xstatus it wrote and the vector it entered; an MMIO exit, the device's register
  (a UART byte as its character). ← and → step to the guest's previous and next exit.
- **Exits**: the exit counters by reason, the most frequent first, with their rates
  (as `kvm_stat` shows).
- **Grid** (F4): every guest's console at once, long lines wrapped to the tile. The
  keyboard goes to the selected guest (its tile is marked ⌨); click a tile to open
  that console.

On a big terminal every pane is on screen; on a small one (under 140 x 36) the
console has the room, and the pane bar above it names the others: Alt+M, Alt+V,
Alt+X and Alt+T show the memory map, the registers, the exits and the trap log in
its place. On a big one the registers take the memory map's place (Alt+V; Alt+M
brings it back), or from 200 columns stand beside it.

## The keyboard

The header always says where the keys go (⌨). Alt+M, Alt+V, Alt+X and Alt+T give
the keyboard to the memory map, the registers, the exits or the trap log, to scroll
them with the arrows, PgUp, PgDn, Home and End (End in the trap log: follow the
newest again).
Esc or Alt+C gives it back to the console — and so does typing: what you type in
another pane goes to the guest, as you meant it to.

## What a guest gets from the monitor

| What a UNIX process has | What a guest OS gets from the VMM |
|---|---|
| storage: a file system | a virtual disk (virtio-blk on an image file) |
| networking: sockets | virtual Ethernet (virtio-net on the monitor's switch) |
| memory: virtual memory | virtual "physical" memory (guest RAM, shadow page tables) |
| display: /dev/console | a virtual keyboard + display (a UART, shown as the console) |

## Keys

| key | does |
|---|---|
| Alt+1 … Alt+9 | show guest 1 … 9 (a click in the guest list does too) |
| F2 / F3 | previous / next guest |
| F4 | every console tiled, or back (typing still goes to the selected guest) |
| Alt+M / Alt+X / Alt+T | the memory map, the exits, the trap log: show it (small terminal) and give it the keys |
| Alt+V | the selected guest's vCPU registers: show them and give them the keys (what changed is marked) |
| Alt+C or Esc | the keys back to the console |
| F5 | pause the selected guest, or resume it |
| F6 | step it by one instruction (or one exit); it stays paused |
| F7 | reset it: power-cycle it (a fresh machine, its clock and counters from zero; its disk keeps its files) |
| F8 | stop it |
| F9 | add a guest, named as on the command line: `IMAGE [--name N] [--ram MIB] [--disk FILE] [--no-disk] [--remedy R] [--sbi S] [--no-net] [--max-insns N] [--gdb PORT]`; IMAGE is a packaged guest's name, an ELF or an assembly file (Tab completes names and paths) |
| Alt+E | switch the machine's ERET flaw on or off (on: first it names the guests it would break, to protect them) |
| Alt+R | the selected guest's next remedy: none, bt, pv, hw |
| Alt+S / Alt+O | save the selected guest to a snapshot file; restore one (it joins the others) |
| Alt+W | write the trap log's lines, as shown, to a file (tuivmm run --trace-exits's format) |
| Alt+I | open the trap log's selected exit (or its newest) in the trap inspector; ← → step, Esc closes |
| / | in the trap log: show only the lines holding a text (Enter goes back to the lines) |
| Alt+Z | zero the selected guest's counters (exits, faults, instructions); unlike F7 it runs on |
| Alt+L | every guest's exits side by side, in one table (z there zeroes them all; Esc closes it) |
| Alt+A | the page-table browser: the selected guest's address spaces, each table beside its shadow (`?` there: the words) |
| Alt+G | debug the selected guest with gdb: it stops until gdb attaches (`target remote 127.0.0.1:PORT`) and continues; Alt+G again lets it go |
| F10 or Alt+P | the command palette: every command, by name |
| F1 or Alt+H | this help; Esc closes it |
| F12 or Alt+Q | quit |

## The lecture's gotcha

With the ERET flaw on (Alt+E), SRET and MRET executed in U-mode do not trap: they
just run. The naive monitor (remedy *none*) never sees the guest kernel's SRET, so
it still believes the guest is in supervisor mode while the guest's user code runs
on the kernel's view of memory. Select `eret-escape`, switch the flaw on (Alt+E:
it first names the running guests the flaw would break, `unix` among them, and
offers them the hardware assist; Enter) and reset it (F7): it prints
`ERET-ESCAPE: ESCAPED`. Choose a remedy (Alt+R: *bt* patches
xRETs before the code runs, *hw* makes them trap again; *pv* is for
`eret-escape-pv`, which asks by hypercall) and reset it again: `PROTECTED`.
The guest list says which, where another guest would say why it stopped.

`tuivmm dash --config gotcha` runs it four ways at once, on the flawed machine:
eret-escape with remedies none, bt and hw, and eret-escape-pv with pv. Alt+L puts
their exits side by side: *none* has a single xret exit (boot's MRET: the kernel's
SRETs ran unseen), *bt* has bt scans and its SRETs back as xret exits, *pv* has
hypercalls instead, and *hw* traps on every xRET.
"""


HELP += (
    """
## The memory map's words

The guest's page table is what the guest OS believes; the shadow is what the VMM
built from it, and what the real MMU walks. A page in the guest's table that the
shadow has not filled yet is filled on a hidden fault, the first time it (or a page
near it) is touched.

"""
    + "\n".join(f"- **{term}**: {meaning}" for term, meaning in LEGEND)
    + "\n"
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    def on_mount(self) -> None:
        self.query_one("#help").focus()  # so the arrows and PgUp/PgDn scroll it

    def action_close(self) -> None:
        self.dismiss(None)
