"""The trap inspector: one exit of the trap log, opened (Enter or a click on its line).

It answers what the log's one line cannot: which instruction, with its fields; why
the real hart left the guest; what the VMM did about it, in the lecture's words;
every register and CSR of the guest's virtual hart the exit changed, before and
after; and by kind — the guest's own walk of a faulting address beside the shadow
entry the VMM made, the CSRs an injection wrote and the vector it entered, the device
register an MMIO exit touched, the word binary translation patched, a hypercall's
name and arguments.  ← and → step to the same guest's previous and next exit.

The states come from the VMM (exitstate.py), kept for each guest's newest exits;
older events still show their line, the instruction and the explanation.
"""

from __future__ import annotations

import bisect

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from machine.clock import TIMEBASE_HZ
from machine.cpu import csrs as C
from machine.cpu.isa import ABI_NAMES, FORMATS, decode
from tuivmm.ui.memory import pte_text
from tuivmm.ui.session import Session
from tuivmm.vmm import hartview, sbi
from tuivmm.vmm import traplog as T
from tuivmm.vmm.exitstate import ExitRecord
from tuivmm.vmm.traplog import TrapEvent

PRIV = C.PRIV_NAMES

# Why the guest left the real hart, by the log's reason.
WHY = {
    T.CSR: "A CSR instruction. The real hart runs the guest, kernel too, in U-mode, where the CSRs are out "
           "of reach, so it trapped to the VMM (an illegal instruction, to the real hart).",
    T.XRET: "An xRET (SRET or MRET), the guest kernel's return to a lower privilege. It is privileged, so in the "
            "real U-mode it traps to the VMM (unless the machine has the ERET flaw: then it would just run).",
    T.WFI: "WFI: the guest has nothing to do until an interrupt comes.",
    T.SFENCE: "SFENCE.VMA: the guest changed its page tables, so every translation made from the old ones "
              "must go, the VMM's shadows included.",
    T.ECALL: "An ECALL: the guest's user code calls its kernel (a system call).",
    (T.ECALL, C.S): "An ECALL from the guest's kernel (virtual S-mode) to its firmware (virtual M-mode): an "
                    "SBI call, the kernel asking the machine-mode software for a service.",
    (T.ECALL, C.M): "An ECALL in virtual M-mode: the guest's firmware traps to itself.",
    T.EXCEPTION: "An exception the guest's own code raised, which its own hardware would raise too.",
    T.PAGE_FAULT: "The real MMU walked the VMM's shadow table, not the guest's, and found no entry that "
                  "allows this access.",
    T.MMIO: "A load or store to a device's address. The shadows never map device pages, so every access "
            "to one traps, and the VMM plays the device.",
    T.HYPERCALL: "The guest called the VMM itself (an ECALL with the hypercall number in a7): "
                 "paravirtualization, the guest knows it is a guest.",
    T.INTERRUPT: "Not an exit: an interrupt became pending and enabled on the guest's virtual hart, so the "
                 "VMM delivered it.",
}  # fmt: skip

# What the VMM did, by the log's action.
DID = {
    T.EMULATED: "Emulated: the VMM carried the instruction out on the guest's virtual hart (its virtual "
                "CSRs, privilege and pc) and resumed the guest after it. The guest cannot tell.",
    T.INJECTED: "Injected: the guest's own hardware would trap here, so the VMM delivered the trap to the "
                "guest as that hardware would: it wrote the guest's xepc, xcause, xtval and xstatus and "
                "entered the guest's trap vector.",
    T.HIDDEN: "A hidden fault: the guest's own page table allows the access; the shadow only lacked the "
              "page. The VMM filled the shadow entry and ran the instruction again. The guest never sees it.",
    T.TRUE: "A true fault: the guest's own page table (or its PMP) forbids the access, so the guest's "
            "hardware would fault too. The VMM injected the fault into the guest.",
    T.MMIO_READ: "The VMM read the emulated device's register for the guest, put the value in the "
                 "destination register and stepped past the load.",
    T.MMIO_WRITE: "The VMM wrote the value to the emulated device's register and stepped past the store.",
    T.SERVED: "The VMM did what the hypercall asks and returned to the guest.",
    T.SBI_SERVED: "Served: the VMM is this guest's SBI firmware (--sbi vmm), so it answered the call itself, "
                  "in a0 and a1, and resumed the kernel after its ECALL. No firmware runs in virtual M-mode.",
    T.SLEPT: "The guest's virtual hart sleeps until an interrupt is due; the VMM runs the other guests.",
    T.BT_SCAN: "Binary translation: before a page of guest code first runs, the VMM scans it and puts a word "
               "that always traps in place of every SRET and MRET, so that none can run unseen.",
    T.CRASHED: "The VMM could not go on with this guest: it stopped it, alone.",
}  # fmt: skip

# What each hypercall asks of the VMM (guests/include/hypercall.h).
HYPERCALLS = {
    "HV_SRET": "Do the SRET the guest's kernel may not trust to the hardware (the ERET flaw would let it run "
               "unseen): return to the mode in SPP at sepc, restoring a6 and a7 from the kernel's save area "
               "at sscratch (the ECALL itself needed them).",
}  # fmt: skip


def field_changes(name: str, before: int, after: int) -> str:
    """What changed in a CSR, field by field (hartview's fields): "SIE 1→0, SPP S→U";
    "" for a CSR that is one number."""
    was = {f.name: f.text for f in hartview.decode(name, before)}
    parts = []
    for field in hartview.decode(name, after):
        old = was.get(field.name)
        if old is None or old == field.text:
            continue
        if "=" in field.text:
            parts.append(f"{field.name} {old.split('=', 1)[1]}→{field.text.split('=', 1)[1]}")
        else:
            parts.append(f"{old} → {field.text}")
    return ", ".join(parts)


def reg_name(number: int) -> str:
    return f"{ABI_NAMES[number]} (x{number})"


def instruction_fields(word: int, pc: int) -> list[str]:
    """The instruction's fields, one "name = value" each, as its format has them."""
    d = decode(word)
    if d is None:
        return [f"{word:#010x} is not an instruction this machine knows"]
    fmt = d.insn.fmt
    if d.length == 2:  # RV32C: decoded as the 32-bit instruction it expands to
        fields = [f"{d.name}: compressed (16 bits, quadrant {word & 3}), as format {fmt}"]
    else:
        fields = [f"{d.name}: format {fmt}, opcode {word & 0x7F:#09b}"]
    template = FORMATS.get(fmt, "")
    for operand in template.replace("(", ",").replace(")", "").split(","):
        if operand == "rd":
            fields.append(f"rd = {reg_name(d.rd)}")
        elif operand == "rs1":
            fields.append(f"rs1 = {reg_name(d.rs1)}")
        elif operand == "rs2":
            fields.append(f"rs2 = {reg_name(d.rs2)}")
        elif operand == "csr":
            fields.append(f"csr = {C.CSR_NAMES.get(d.imm, '?')} ({d.imm:#05x})")
        elif operand == "uimm":
            fields.append(f"uimm = {d.rs1}")
        elif operand in ("imm", "imm20", "shamt"):
            fields.append(f"{operand} = {d.imm} ({d.imm & 0xFFFF_FFFF:#x})")
        elif operand == "target":
            fields.append(f"target = pc + {d.imm} = {(pc + d.imm) & 0xFFFF_FFFF:#010x}")
    return fields


def _value(name: str, value: int) -> str:
    if name == "priv":
        return PRIV.get(value, "?")
    return f"{value:#010x}"


def _heading(text: str) -> Text:
    return Text(f"── {text} ", style="bold")


class InspectorScreen(ModalScreen[None]):
    """One exit, opened.  `event`: the trap-log event; the session gives its guest's
    log (for the state and for stepping)."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("left,p", "step(-1)", "Previous exit"),
        Binding("right,n", "step(1)", "Next exit"),
    ]

    DEFAULT_CSS = """
    InspectorScreen { align: center middle; }
    InspectorScreen #inspector { width: 100%; max-width: 110; height: 100%; max-height: 50;
                                 border: round $accent; border-title-style: bold; background: $surface; }
    InspectorScreen #inspector-body { height: 1fr; padding: 0 1; }
    InspectorScreen #inspector-keys { height: 1; color: $text-muted; padding: 0 1; }
    InspectorScreen .section { margin-bottom: 1; }
    """

    def __init__(self, session: Session, event: TrapEvent):
        super().__init__()
        self.session = session
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(id="inspector"):
            with VerticalScroll(id="inspector-body"):
                yield Static(id="inspector-text")
            yield Static("← previous exit  ·  → next exit (of this guest)  ·  ↑↓ PgUp PgDn scroll  ·  Esc close",
                         id="inspector-keys")  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#inspector-body").focus()
        self.show(self.event)

    # --- stepping ---------------------------------------------------------------------

    def _log(self) -> T.TrapLog | None:
        guest = self.session.guest(self.event.guest)
        return guest.log if guest is not None else None

    def action_step(self, delta: int) -> None:
        """The same guest's previous (-1) or next (+1) exit, if the VMM still keeps it."""
        log = self._log()
        if log is None:
            return
        events = log.events
        seqs = [e.seq for e in events]
        i = bisect.bisect_left(seqs, self.event.seq)
        j = i + delta if i < len(seqs) and seqs[i] == self.event.seq else (i - 1 if delta < 0 else i)
        if 0 <= j < len(events):
            self.show(events[j])
        else:
            self.notify("no older exit kept" if delta < 0 else "no newer exit yet", timeout=2)

    def action_close(self) -> None:
        self.dismiss(None)

    # --- drawing ----------------------------------------------------------------------

    def show(self, event: TrapEvent) -> None:
        self.event = event
        log = self._log()
        record = log.state_of(event) if log is not None else None
        box = self.query_one("#inspector")
        box.border_title = f"exit {event.seq} · {event.guest}"
        self.query_one("#inspector-text", Static).update(self.text_of(event, record))
        self.query_one("#inspector-body", VerticalScroll).scroll_home(animate=False)

    def text_of(self, e: TrapEvent, record: ExitRecord | None) -> Text:
        """Everything the inspector shows for `e` (its state `record` if kept)."""
        out = Text()

        def line(*parts) -> None:
            out.append_text(Text.assemble(*parts))
            out.append("\n")

        if e.reason == T.RESET:
            line(_heading("not an exit: the counters start again from zero"))
            line(e.note)
            return out
        line((f"{e.guest}", "bold"), f" · t = {e.time / TIMEBASE_HZ:.6f} s · pc {e.pc:#010x}"
             f" · virtual {PRIV.get(e.priv, '?')}-mode")  # fmt: skip
        line((f"{C.cause_name(e.cause)}", "bold"), f": {e.reason} exit, {e.action}"
             + (f"  ({e.detail})" if e.detail else ""))  # fmt: skip
        out.append("\n")
        if e.insn:
            line(_heading("the instruction"))
            bits = f"{e.insn:08x}" if e.insn & 3 == 3 else f"{e.insn:04x}    "  # as objdump lays it out
            line(f"{e.pc:08x}:  {bits}   ", (e.text, "bold"))
            for field in instruction_fields(e.insn, e.pc):
                line("  ", field)
            out.append("\n")
        line(_heading("why it left the real hart"))
        line(WHY.get((e.reason, e.priv)) or WHY.get(e.reason, ""))
        out.append("\n")
        line(_heading(f"what the VMM did: {e.action}"))
        line(DID.get(e.action, ""))
        self._by_kind(e, record, line)
        out.append("\n")
        if record is None:
            line(_heading("registers"))
            kept = self._kept()
            line((f"The VMM no longer keeps this exit's registers (it keeps each guest's newest {kept}).", "dim"))
            return out
        before, after = record.value_before("priv"), record.value_after("priv")
        line(_heading("virtual privilege"))
        line(f"{PRIV.get(before, '?')} → {PRIV.get(after, '?')}"
             + ("  (unchanged)" if before == after else ""))  # fmt: skip
        out.append("\n")
        changes = record.changes()
        line(_heading("registers and CSRs this exit changed (before → after)"))
        if not changes:
            line(("none: the guest's virtual hart is as it was (the VMM changed only its own state)", "dim"))
        for name, a, b in changes:
            shown = reg_name(int(name[1:])) if name.startswith("x") and name[1:].isdigit() else name
            extra = field_changes(name, a, b)
            line(f"  {shown:<10} ", (_value(name, a), "dim"), " → ", (_value(name, b), "bold"),
                 (f"   {extra}" if extra else ""))  # fmt: skip
        return out

    def _kept(self) -> str:
        return f"{self.session.vmm.exit_states_kept:,}"

    def _by_kind(self, e: TrapEvent, record: ExitRecord | None, line) -> None:
        """The part only some exits have: a page walk, an injection, a device, bt, a hypercall."""
        if e.detail.startswith(T.BT_PATCH):
            patched = e.detail.split()[2] if len(e.detail.split()) > 2 else "?"
            line("")
            line(_heading("binary translation"))
            line(
                f"The real hart trapped on {patched}, the word binary translation put in place of the "
                f"guest's own `{e.text}` ({e.insn:#010x}); the VMM emulated the original."
            )
        if e.detail.startswith(T.TRIGGER_FIRED):
            line("")
            line(_heading("a debug trigger"))
            line(
                f"The guest armed a debug trigger ({e.detail.split(' fired')[0]}: tselect, tdata1, tdata2). The VMM "
                "loads the triggers that can fire in the guest's virtual mode onto the real hart, enabled for "
                "U-mode where the guest really runs; this one matched, before the instruction or the access, "
                "which did not happen. The VMM set the trigger's hit bits in the guest's tdata1 and injected "
                "the breakpoint, as the guest's own hardware would."
            )
        if e.reason == T.PAGE_FAULT and record is not None:
            line("")
            line(_heading(f"the guest's own walk of {record.tval:#010x} (its page table, as it was)"))
            if not record.walk:
                line("  paging is off in this mode: virtual = guest-physical")
            for step in record.walk:
                kind = ("leaf" if step.pte & 0xA else "pointer") if step.pte & 1 else "invalid"
                target = (step.pte >> 10) << 12
                where = {"leaf": f"maps page {target:#010x}" + (" (a 4 MiB superpage)" if step.level else ""),
                         "pointer": f"next table at {target:#010x}", "invalid": "V clear: not mapped"}[kind]  # fmt: skip
                line(f"  level {step.level}  PTE at {step.address:#010x} = {step.pte:#010x}  ",
                     (pte_text(step.pte & 0x3FF), "bold"), f"  {where}")  # fmt: skip
            line(_heading("the shadow the real MMU walks"))
            if record.shadow is not None:
                hpa, perms = record.shadow
                rwx = "".join(c if perms & bit else "-" for c, bit in (("r", 2), ("w", 4), ("x", 8)))
                line(f"  va {record.tval & ~0xFFF:#010x} → host page {hpa:#010x} {rwx}"
                     + ("  (filled by this exit)" if e.action == T.HIDDEN else ""))  # fmt: skip
            else:
                line("  no entry for this page" + ("  — the VMM injected the fault instead" if e.action in
                                                   (T.TRUE, T.INJECTED) else ""))  # fmt: skip
        if (e.action in (T.INJECTED, T.TRUE) or e.reason == T.INTERRUPT) and record is not None:
            mode = record.value_after("priv")
            x = "s" if mode == C.S else "m"
            line("")
            line(_heading(f"the trap as the guest's {PRIV.get(mode, '?')}-mode sees it"))
            for csr in (f"{x}epc", f"{x}cause", f"{x}tval"):
                value = record.value_after(csr)
                extra = f"  {C.cause_name(value)}" if csr.endswith("cause") else ""
                line(f"  {csr:<8} = {value:#010x}{extra}")
            fields = hartview.status_fields(record.value_after("mstatus"), supervisor=mode == C.S)
            line(
                f"  {x}status: "
                + " ".join(f.text for f in fields if f.name[0] == x.upper() or f.name[1:2] == x.upper())
            )
            line(
                f"  entered the vector at {record.value_after('pc'):#010x} ({x}tvec {record.value_after(x + 'tvec'):#010x})"
            )
        if e.reason == T.MMIO and e.action in (T.MMIO_READ, T.MMIO_WRITE):
            place, _, value_text = e.detail.partition(" <- " if e.action == T.MMIO_WRITE else " -> ")
            device, _, register = place.partition(" ")
            line("")
            line(_heading("the device"))
            line(
                f"  {device.split('+')[0]}, register {register or device.partition('+')[2]}: "
                f"{'wrote' if e.action == T.MMIO_WRITE else 'read'} {value_text}" + _char(device, register, value_text)
            )
        if e.detail.startswith(T.SBI_CALL) and record is not None:
            xb = record.x_before
            eid, fid = xb[17], xb[16]
            line("")
            line(_heading(f"the SBI call: {sbi.call_name(eid, fid)}"))
            if sbi.meaning(eid, fid):
                line(f"  What it asks: {sbi.meaning(eid, fid)}.")
            _call_registers(xb, line)
            if e.action == T.SBI_SERVED:
                a0, a1 = record.value_after("x10"), record.value_after("x11")
                line(f"  The VMM answered it itself (--sbi vmm), in this one exit: a0 = {a0:#x} (the error, or a "
                     f"legacy call's one value), a1 = {a1:#x}.")  # fmt: skip
            else:
                line("  The guest's own firmware answers it: the VMM injected the ECALL into the guest's virtual "
                     "M-mode, where the firmware's trap handler runs (an MRET brings the answer back).")
        if e.reason == T.HYPERCALL and record is not None:
            xb = record.x_before
            line("")
            line(_heading(f"the hypercall: {e.detail or '?'}"))
            if e.detail in HYPERCALLS:
                line(f"  {HYPERCALLS[e.detail]}")
            _call_registers(xb, line)


def _call_registers(x: tuple[int, ...], line) -> None:
    """An ECALL's extension and function (a7, a6) and its arguments, as the caller set them."""
    line(f"  a7 (extension) = {x[17]:#010x}   a6 (function) = {x[16]}")
    line("  arguments a0..a5 = " + ", ".join(f"{x[10 + i]:#x}" for i in range(6)))


def _char(device: str, register: str, value_text: str) -> str:
    """A UART data byte as the character it is."""
    if not device.startswith("uart") or register not in ("THR", "RBR"):
        return ""
    try:
        value = int(value_text, 0)
    except ValueError:
        return ""
    if value > 0xFF:
        return ""
    return f"  {chr(value)!r}" if 32 <= value < 127 else f"  (control {value:#04x})"
