"""An NS16550A UART as QEMU `virt` has it: byte registers at offsets 0..7.

Register map (TI PC16550D datasheet, table 2), DLAB = LCR bit 7:

    +0  RBR (read) / THR (write)        DLL when DLAB=1
    +1  IER                             DLM when DLAB=1
    +2  IIR (read) / FCR (write)
    +3  LCR   +4 MCR   +5 LSR   +6 MSR   +7 SCR

Transmission is instant: a byte written to THR goes straight to `on_output`, so the
transmitter is always empty (LSR THRE|TEMT).  Received bytes wait in an unbounded
host-side queue fed by `feed`.  Only the two interrupts a console needs exist:
received data available (IIR 0x4) and THR empty (IIR 0x2); the receiver behaves as if
its FIFO trigger level were one byte, so there is no character-timeout interrupt.
Each access touches the register at its offset through the low byte only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

UART_SIZE = 0x100

RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)

IER_RX_AVAILABLE = 0x01
IER_THR_EMPTY = 0x02
IER_MASK = 0x0F

IIR_NO_INTERRUPT = 0x01
IIR_THR_EMPTY = 0x02
IIR_RX_AVAILABLE = 0x04
IIR_FIFOS_ENABLED = 0xC0

FCR_FIFO_ENABLE = 0x01
FCR_CLEAR_RX = 0x02

LCR_DLAB = 0x80

MCR_MASK = 0x1F
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10

LSR_DATA_READY = 0x01
LSR_THR_EMPTY = 0x20
LSR_TRANSMITTER_EMPTY = 0x40

MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80


POLLS_FOR_INPUT = 16  # line-status reads with nothing sent between: a guest polling for input

class Uart16550:
    def __init__(self, irq: Callable[[bool], None]):
        self.irq = irq
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.rx: deque[int] = deque()
        # LSR reads since the guest last transmitted: two or more in a row mean a
        # polling driver is looking for input, not waiting to send.
        self.polls_since_tx = 0
        self.reset()

    def register_name(self, offset: int, write: bool) -> str:
        """The register at `offset` as the datasheet names it, for a read or a write."""
        if offset < 2 and self.lcr & LCR_DLAB:
            return ("DLL", "DLM")[offset]
        if offset < 8:
            return (("RBR", "THR"), ("IER", "IER"), ("IIR", "FCR"), ("LCR", "LCR"), ("MCR", "MCR"),
                    ("LSR", "LSR"), ("MSR", "MSR"), ("SCR", "SCR"))[offset][write]  # fmt: skip
        return ""

    def reset(self) -> None:
        self.ier = 0
        self.lcr = 0
        self.mcr = 0
        self.scr = 0
        self.fcr = 0
        self.divisor = 0
        self.rx.clear()
        self.thr_interrupt = False  # the "THR empty" event, latched until IIR read or THR write
        self._level = False
        self.irq(False)

    def save_state(self) -> dict:
        """Registers, the receive FIFO, the THR-empty event and the interrupt line, as
        plain data."""
        return {"ier": self.ier, "lcr": self.lcr, "mcr": self.mcr, "scr": self.scr, "fcr": self.fcr,
                "divisor": self.divisor, "rx": bytes(self.rx), "thr_interrupt": self.thr_interrupt,
                "level": self._level, "polls_since_tx": self.polls_since_tx}  # fmt: skip

    def load_state(self, state: dict) -> None:
        """Put back what `save_state` returned.  The interrupt line's level is taken as
        saved, not driven: the interrupt controller restores its own view of it."""
        self.ier = state["ier"] & IER_MASK
        self.lcr = state["lcr"] & 0xFF
        self.mcr = state["mcr"] & MCR_MASK
        self.scr = state["scr"] & 0xFF
        self.fcr = state["fcr"] & 0xFF
        self.divisor = state["divisor"] & 0xFFFF
        self.rx = deque(bytes(state["rx"]))
        self.thr_interrupt = bool(state["thr_interrupt"])
        self._level = bool(state["level"])
        self.polls_since_tx = state["polls_since_tx"]

    # --- host side ----------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes typed at the console, in order."""
        self.rx.extend(data)
        self._update()

    def polled_for_input(self) -> bool:
        """Whether the guest visibly polls for input: it read the line status (or
        the empty receiver) POLLS_FOR_INPUT times without sending a byte in between,
        with the receive interrupt off.  (A driver that takes the receive interrupt waits for input
        asleep in WFI; the line status reads it makes are its handler draining the
        FIFO.  A few reads are not a poll: Linux's 8250 driver reads it a handful of
        times while it probes and sets up the port, before anything could read a line,
        and would lose one fed then.)"""
        return self.polls_since_tx >= POLLS_FOR_INPUT and not self.ier & IER_RX_AVAILABLE

    def rx_interrupt_on(self) -> bool:
        """Whether the guest takes the receive interrupt: asleep, it waits for input."""
        return bool(self.ier & IER_RX_AVAILABLE)

    def rx_pending(self) -> int:
        """How many received bytes the guest has not read yet."""
        return len(self.rx)

    # --- guest side ---------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR_DLL:
            if dlab:
                return self.divisor & 0xFF
            if not self.rx:
                self.polls_since_tx += 1  # reading an empty receiver: polling it
                return 0
            value = self.rx.popleft()
            self._update()
            return value
        if offset == IER_DLM:
            return self.divisor >> 8 if dlab else self.ier
        if offset == IIR_FCR:
            return self._read_iir()
        if offset == LCR:
            return self.lcr
        if offset == MCR:
            return self.mcr
        if offset == LSR:
            self.polls_since_tx += 1
            lsr = LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY
            return lsr | (LSR_DATA_READY if self.rx else 0)
        if offset == MSR:
            return self._modem_status()
        if offset == SCR:
            return self.scr
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFF
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR_DLL:
            if dlab:
                self.divisor = (self.divisor & 0xFF00) | value
            else:
                self._transmit(value)
        elif offset == IER_DLM:
            if dlab:
                self.divisor = (self.divisor & 0x00FF) | (value << 8)
            else:
                enabling_thr = value & IER_THR_EMPTY and not self.ier & IER_THR_EMPTY
                self.ier = value & IER_MASK
                # The 16550 signals THR empty as soon as the interrupt is enabled while
                # the holding register is empty, which ours always is.
                if enabling_thr:
                    self.thr_interrupt = True
                self._update()
        elif offset == IIR_FCR:
            if (value ^ self.fcr) & FCR_FIFO_ENABLE or value & FCR_CLEAR_RX:
                self.rx.clear()  # switching FIFO mode on or off also empties the FIFOs
            self.fcr = value & (FCR_FIFO_ENABLE | 0xC0)  # enable and trigger level stick
            self._update()
        elif offset == LCR:
            self.lcr = value
        elif offset == MCR:
            self.mcr = value & MCR_MASK
        elif offset == SCR:
            self.scr = value
        # LSR and MSR are read-only.

    # --- internals ----------------------------------------------------------------

    def _transmit(self, byte: int) -> None:
        self.polls_since_tx = 0
        if self.mcr & MCR_LOOP:
            self.rx.append(byte)  # loopback: the transmitter feeds the receiver
        else:
            self.on_output(bytes([byte]))
        # Writing THR clears the THR-empty event; the byte leaves at once, so the
        # register is empty again and the event is raised anew.
        self.thr_interrupt = True
        self._update()

    def _read_iir(self) -> int:
        fifo_bits = IIR_FIFOS_ENABLED if self.fcr & FCR_FIFO_ENABLE else 0
        if self.ier & IER_RX_AVAILABLE and self.rx:
            return fifo_bits | IIR_RX_AVAILABLE
        if self.ier & IER_THR_EMPTY and self.thr_interrupt:
            # Reading IIR while it reports THR empty is what acknowledges that event.
            self.thr_interrupt = False
            self._update()
            return fifo_bits | IIR_THR_EMPTY
        return fifo_bits | IIR_NO_INTERRUPT

    def _modem_status(self) -> int:
        if self.mcr & MCR_LOOP:
            # Loopback wires the modem outputs back to the inputs (datasheet 8.6).
            msr = MSR_CTS if self.mcr & MCR_RTS else 0
            msr |= MSR_DSR if self.mcr & MCR_DTR else 0
            msr |= MSR_RI if self.mcr & MCR_OUT1 else 0
            msr |= MSR_DCD if self.mcr & MCR_OUT2 else 0
            return msr
        return MSR_DCD | MSR_DSR | MSR_CTS  # a terminal is always there

    def _update(self) -> None:
        level = bool((self.ier & IER_RX_AVAILABLE and self.rx) or (self.ier & IER_THR_EMPTY and self.thr_interrupt))
        if level != self._level:
            self._level = level
            self.irq(level)
