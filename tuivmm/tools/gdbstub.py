"""A GDB remote-serial-protocol stub for one guest, as QEMU's `-s -S` gives a board:

    tuivmm run unix --gdb 1234
    gdb-multiarch tuivmm/images/unix.elf -ex 'set architecture riscv:rv32' -ex 'target remote :1234'

`GdbStub.start(vmm, guest, port)` listens on 127.0.0.1 only, on the event loop the
guests' tasks (`Vmm.serve`) run on, so while the debugger holds this guest the others
run on.  With `hold` the guest waits at its first instruction until a debugger
attaches and lets it go; a debugger attaching later stops it where it is.  One
debugger at a time; it going away (or detaching) takes its breakpoints out and lets
the guest run on.  `k` (gdb's `kill`) stops the guest for good, as the dashboard's
stop does.  What the stub does to the guest is `debugger.DebugStub`; this module is
the protocol.

Packets: `?`, g/G and p/P (x0-x31 and pc, the CSRs as register 65 + their number, and
the virtual privilege as `priv`, all described by the target description that
qXfer:features:read serves), m/M/X (guest-virtual memory through the guest's own
page tables; guest-physical after `monitor phys on`), Z0 and z0 (EBREAKs in guest
memory, hit before the fetch even where the guest may not execute, as gdb's calls
into the guest need; kind 2, which gdb asks for over a compressed instruction, a
C.EBREAK), Z1 and z1 (gdb's hbreak: an execute trigger, guest memory untouched; with
`monitor phys on` an EBREAK), Z2/Z3/Z4 and z2-z4 (write, read and access
watchpoints: load/store triggers, or page protection where triggers cannot serve:
debugger.py),
c/s/C/S and vCont, the interrupt byte 0x03, D, k and vKill, qSupported,
QStartNoAckMode, qAttached, qC, qfThreadInfo (one thread), and qRcmd (`monitor
help`).  Anything else gets the empty reply ("not supported").  Stop replies:
`T05swbreak:;` at a breakpoint, `T05hwbreak:;` at an hbreak, `T05watch:ADDR;` (rwatch, awatch) before the access
to a watchpoint, `T05` after a step, `T02` after an interrupt; a guest that powers off
while running gives `W` with its exit code, one that crashes `X0b` (SIGSEGV), one that
is stopped or runs out of --max-insns `X09` (SIGKILL).  Bad addresses are `E14`,
malformed packets `E01`, bad arguments `E16`.
"""

from __future__ import annotations

import asyncio
import contextlib

from machine.cpu import csrs as C
from machine.cpu.csrfile import IMPLEMENTED
from tuivmm.tools.debugger import (
    BREAKPOINT,
    CSR_REGNUM,
    HW_BREAKPOINT,
    INTERRUPTED,
    PC_REGNUM,
    PRIV_REGNUM,
    WATCH_KINDS,
    DebugError,
    DebugStub,
)
from tuivmm.vmm.monitor import Guest, GuestState, Vmm, VmmError

HOST = "127.0.0.1"  # never any other interface: the stub lets anyone who connects poke the guest
PACKET_SIZE = 0x4000
SIGINT, SIGTRAP, SIGKILL, SIGSEGV = 2, 5, 9, 11
E_SYNTAX, E_FAULT, E_INVALID = "E01", "E14", "E16"  # errno-style: EFAULT 14, EINVAL 22
THREAD = "thread:01;"

X_NAMES = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1",
           "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
           "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6")  # fmt: skip
_X_TYPES = {1: "code_ptr", 2: "data_ptr", 3: "data_ptr", 4: "data_ptr", 8: "data_ptr"}

MONITOR_HELP = """\
monitor commands:
  help             this list
  phys [on|off]    memory, breakpoint and watchpoint addresses are guest-physical (on)
                   or guest-virtual, through the guest's own page tables (off, the default)
  translate ADDR   where guest-virtual ADDR is in guest-physical memory, now
  points           each breakpoint and watchpoint, and what it uses: an EBREAK in guest
                   memory, a debug trigger (hbreak, watch), or page protection
  guest            the guest's name, state, privilege, pc and instruction count
"""


def target_xml() -> str:
    """The target description gdb asks for: the RV32 integer registers and pc, every
    CSR the machine implements (numbered as gdb numbers them), and the privilege."""
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', '<target version="1.0">',
             "<architecture>riscv:rv32</architecture>", '<feature name="org.gnu.gdb.riscv.cpu">']  # fmt: skip
    for i, name in enumerate(X_NAMES):
        lines.append(f'<reg name="{name}" bitsize="32" type="{_X_TYPES.get(i, "int")}" regnum="{i}"/>')
    lines.append(f'<reg name="pc" bitsize="32" type="code_ptr" regnum="{PC_REGNUM}"/>')
    lines.append('</feature>\n<feature name="org.gnu.gdb.riscv.csr">')
    for num in sorted(IMPLEMENTED):
        lines.append(f'<reg name="{C.CSR_NAMES[num]}" bitsize="32" regnum="{CSR_REGNUM + num}"/>')
    lines.append('</feature>\n<feature name="org.gnu.gdb.riscv.virtual">')
    lines.append(f'<reg name="priv" bitsize="32" regnum="{PRIV_REGNUM}"/>')
    lines.append("</feature>\n</target>\n")
    return "\n".join(lines)


TARGET_XML = target_xml().encode()


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def escape(data: bytes) -> bytes:
    """RSP binary escaping: '#', '$', '}' and '*' become '}' and the byte xor 0x20."""
    if not any(b in b"#$}*" for b in data):
        return data
    out = bytearray()
    for b in data:
        if b in b"#$}*":
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    if b"}" not in data:
        return data
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it, 0x20) ^ 0x20 if b == 0x7D else b)
    return bytes(out)


def frame(payload: bytes) -> bytes:
    """`$payload#checksum`, escaped."""
    body = escape(payload)
    return b"$" + body + b"#" + f"{checksum(body):02x}".encode()


def _hex32(value: int) -> str:
    return (value & 0xFFFF_FFFF).to_bytes(4, "little").hex()


def _address_length(text: str) -> tuple[int, int]:
    addr, length = text.split(",")
    return int(addr, 16), int(length, 16)


class GdbStub:
    """One guest's GDB server.  `port` is the port it listens on (a real one when
    started with port 0), `attached` whether a debugger is connected."""

    def __init__(self, vmm: Vmm, guest: Guest):
        self.vmm = vmm
        self.guest = guest
        self.target = DebugStub(vmm, guest, self._guest_stopped)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._client: asyncio.Task | None = None
        self._buf = bytearray()
        self._ack = True
        self._last = b""  # the last packet sent, for a '-'

    @classmethod
    async def start(cls, vmm: Vmm, guest: Guest, port: int, *, hold: bool = True) -> GdbStub:
        """Listen for a debugger for `guest` on 127.0.0.1:`port` (0: any free port).
        `hold`: the guest does not run until a debugger lets it.  VmmError (one line)
        if the port cannot be had or the guest already has a stub."""
        try:
            stub = cls(vmm, guest)
        except DebugError as exc:
            raise VmmError(str(exc)) from None
        try:
            stub._server = await asyncio.start_server(stub._serve, HOST, port)
        except OSError as exc:
            stub.target.detach(resume=False)
            raise VmmError(f"gdb: cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
        stub.port = stub._server.sockets[0].getsockname()[1]
        if hold:
            stub.target.hold()
        return stub

    @property
    def attached(self) -> bool:
        return self._writer is not None

    async def close(self) -> None:
        """Stop listening and drop the debugger, if one is attached; the guest is let go
        (a held one runs on)."""
        if self._server is not None:
            self._server.close()
        client = self._client
        if self._writer is not None:
            self._writer.close()
        if client is not None and client is not asyncio.current_task():
            # Its connection is closing: the handler sees the end and cleans up itself
            # (cancelling it would leave asyncio's stream callback a cancelled task).
            await asyncio.wait([client], timeout=5)
            if not client.done():
                client.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await client
        if self._server is not None:
            await self._server.wait_closed()
        self.target.detach()

    # --- the connection ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None or self.guest.debug_stub is not self.target:
            writer.close()  # one debugger at a time
            return
        self._writer, self._client = writer, asyncio.current_task()
        self._buf.clear()
        self._ack, self._last = True, b""
        self.target.phys = False
        self.target.hold()  # attaching stops the guest (if hold did not already)
        try:
            while data := await reader.read(65536):
                self._feed(data)
        except ConnectionError:
            pass
        finally:
            if self._writer is writer:
                self._writer = self._client = None
                if self.guest.debug_stub is self.target:
                    self.target.release()
            writer.close()

    def _feed(self, data: bytes) -> None:
        """Bytes from the debugger: packets (acked unless in no-ack mode), the interrupt
        byte, '-' asking for the last packet again."""
        buf = self._buf
        buf += data
        while buf and self._writer is not None:
            c = buf[0]
            if c == 0x24:  # '$'
                end = buf.find(b"#")
                if end < 0 or len(buf) < end + 3:
                    if end < 0 and len(buf) > 4 * PACKET_SIZE:
                        buf.clear()  # no packet is this long: line noise
                    return
                body, check = bytes(buf[1:end]), bytes(buf[end + 1 : end + 3])
                del buf[: end + 3]
                try:
                    good = int(check, 16) == checksum(body)
                except ValueError:
                    good = False
                if self._ack:
                    self._write(b"+" if good else b"-")
                if good:
                    self._packet(unescape(body))
            elif c == 0x03:
                del buf[0]
                self._interrupt()
            elif c == 0x2D:  # '-': our last packet came garbled
                del buf[0]
                if self._ack and self._last:
                    self._write(self._last)
            else:
                del buf[0]  # '+', or noise between packets

    def _write(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def _send(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            payload = payload.encode("latin-1")
        self._last = frame(payload)
        self._write(self._last)

    def _hang_up(self) -> None:
        if self._writer is not None:
            self._writer.close()

    # --- packets ----------------------------------------------------------------------------

    def _packet(self, pkt: bytes) -> None:
        try:
            reply = self._dispatch(pkt)
        except (ValueError, IndexError):
            reply = E_SYNTAX
        except DebugError:
            reply = E_FAULT
        if reply is not None:
            self._send(reply)

    def _dispatch(self, pkt: bytes) -> str | bytes | None:
        """The reply to one packet (None: none now, or none at all)."""
        t = self.target
        text = pkt.decode("latin-1")
        head, rest = text[:1], text[1:]
        if head == "?":
            return self._stop_reply()
        if head == "g":
            return "".join(_hex32(t.read_register(i)) for i in range(PC_REGNUM + 1))
        if head == "G":
            data = bytes.fromhex(rest)
            if len(data) < 4 * (PC_REGNUM + 1):
                return E_SYNTAX
            for i in range(PC_REGNUM + 1):
                t.write_register(i, int.from_bytes(data[4 * i : 4 * i + 4], "little"))
            return "OK"
        if head in ("p", "P"):
            return self._register(head == "P", rest)
        if head == "m":
            addr, length = _address_length(rest)
            return t.read_memory(addr, min(length, (PACKET_SIZE - 32) // 2)).hex()  # the reply fits a packet
        if head == "M":
            spec, _, digits = rest.partition(":")
            addr, length = _address_length(spec)
            data = bytes.fromhex(digits)
            if len(data) != length:
                return E_SYNTAX
            t.write_memory(addr, data)
            return "OK"
        if head == "X":
            colon = pkt.index(b":")
            addr, length = _address_length(pkt[1:colon].decode("latin-1"))
            data = pkt[colon + 1 :]
            if len(data) != length:
                return E_SYNTAX
            if length:
                t.write_memory(addr, data)
            return "OK"
        if head in ("c", "s"):  # c [ADDR]
            return self._resume(head == "s", rest)
        if head in ("C", "S"):  # C SIG[;ADDR]: the guest has no signals to take
            return self._resume(head == "S", rest.partition(";")[2])
        if head in ("Z", "z"):
            return self._point(head == "Z", rest)
        if head == "D":
            self._send("OK")
            self.target.release()
            self._hang_up()
            return None
        if head == "k":
            t.kill()
            self._hang_up()
            return None
        if head in ("H", "T"):
            return "OK"  # one thread: every thread is that one
        if text.startswith("vCont?"):
            return "vCont;c;C;s;S"
        if text.startswith("vCont;"):
            # One thread: the first action is the one for it.
            action = text[6:].split(";")[0].split(":")[0]
            if action[:1] in ("c", "C", "s", "S"):
                return self._resume(action[:1] in ("s", "S"), "")
            return E_SYNTAX
        if text.startswith("vKill"):
            t.kill()
            return "OK"
        if text.startswith("qSupported"):
            return f"PacketSize={PACKET_SIZE:x};qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+"
        if text == "QStartNoAckMode":
            self._send("OK")
            self._ack = False
            return None
        if text.startswith("qAttached"):
            return "1"  # an existing machine: gdb detaches from it when it quits, never kills it
        if text == "qC":
            return "QC1"
        if text == "qfThreadInfo":
            return "m1"
        if text == "qsThreadInfo":
            return "l"
        if text.startswith("qXfer:features:read:"):
            return self._features(text[len("qXfer:features:read:") :])
        if text.startswith("qRcmd,"):
            return self._monitor(bytes.fromhex(text[6:]).decode("utf-8", "replace"))
        if text.startswith("qSymbol"):
            return "OK"
        return ""

    def _register(self, write: bool, rest: str) -> str:
        number, _, value = rest.partition("=")
        try:
            if write:
                data = bytes.fromhex(value)
                if len(data) != 4:
                    return E_SYNTAX
                self.target.write_register(int(number, 16), int.from_bytes(data, "little"))
                return "OK"
            return _hex32(self.target.read_register(int(number, 16)))
        except DebugError:
            return E_INVALID

    def _resume(self, step: bool, addr: str) -> str | None:
        """Step or continue, from `addr` (hex) if given.  The stop reply of a step comes
        now; a continue's when the guest stops (_guest_stopped)."""
        t = self.target
        if t.finished:
            return self._exit_reply()
        if addr:
            t.write_register(PC_REGNUM, int(addr, 16))
        if step:
            t.step()
            return self._stop_reply()
        t.resume()
        return None

    def _point(self, insert: bool, rest: str) -> str:
        kind, addr, length = rest.split(";")[0].split(",")[:3]
        number, addr, length = int(kind), int(addr, 16), int(length, 16)
        t = self.target
        try:
            if number in (0, 1):
                if length not in (2, 4):
                    return E_INVALID  # kind 4: EBREAK; kind 2: C.EBREAK, over a compressed instruction
                if number == 1 and insert:
                    t.insert_hw_breakpoint(addr, length)
                elif number == 1:
                    t.remove_hw_breakpoint(addr)
                elif insert:
                    t.insert_breakpoint(addr, length)
                else:
                    t.remove_breakpoint(addr)
            elif number in (2, 3, 4):
                kind = WATCH_KINDS[number - 2]
                if insert:
                    t.insert_watchpoint(kind, addr, length)
                else:
                    t.remove_watchpoint(kind, addr, length)
            else:
                return ""
        except DebugError:
            return E_FAULT
        return "OK"

    def _features(self, rest: str) -> bytes | str:
        annex, _, span = rest.partition(":")
        if annex != "target.xml":
            return "E00"
        offset, length = _address_length(span)
        chunk = TARGET_XML[offset : offset + length]
        return (b"l" if offset + length >= len(TARGET_XML) else b"m") + chunk

    def _monitor(self, command: str) -> str:
        words = command.split()
        t = self.target
        g = self.guest
        if not words or words[0] == "help":
            out = MONITOR_HELP
        elif words[0] == "phys" and len(words) <= 2:
            if len(words) == 2:
                if words[1] not in ("on", "off"):
                    return self._say("usage: monitor phys [on|off]\n")
                t.phys = words[1] == "on"
            out = f"addresses are guest-{'physical' if t.phys else 'virtual'}\n"
        elif words[0] == "translate" and len(words) == 2:
            try:
                va = int(words[1], 0)
            except ValueError:
                return self._say(f"not an address: {words[1]}\n")
            pa = t.translate(va & 0xFFFF_FFFF, g.vcpu.priv)
            out = f"{va:#010x} -> " + (f"guest-physical {pa:#010x}\n" if pa is not None else "not mapped\n")
        elif words[0] == "points" and len(words) == 1:
            lines = t.describe_points()
            out = "\n".join(lines) + "\n" if lines else "no breakpoints or watchpoints\n"
        elif words[0] == "guest":
            out = (f"{g.name}: {g.state.value}, {C.PRIV_NAMES.get(g.priv, '?')}-mode, pc {g.pc:#010x}, "
                   f"{g.instructions} instructions\n")  # fmt: skip
        else:
            out = f"unknown monitor command {words[0]!r}; try 'monitor help'\n"
        return self._say(out)

    def _say(self, text: str) -> str:
        """Console output for the debugger (an O packet), then the qRcmd's OK."""
        self._send("O" + text.encode().hex())
        return "OK"

    # --- stops -------------------------------------------------------------------------------

    def _interrupt(self) -> None:
        """The debugger's Ctrl-C: stop the running guest and say so."""
        t = self.target
        if not t.running:
            return
        t.hold(INTERRUPTED)
        self._send(self._stop_reply())

    def _guest_stopped(self) -> None:
        """The guest the debugger let run stopped for it (or finished)."""
        self._send(self._stop_reply())

    def _stop_reply(self) -> str:
        if self.guest.state.finished:
            return self._exit_reply()
        stop = self.target.stop
        if stop.why == BREAKPOINT:
            return f"T{SIGTRAP:02x}swbreak:;{THREAD}"
        if stop.why == HW_BREAKPOINT:
            return f"T{SIGTRAP:02x}hwbreak:;{THREAD}"
        if stop.why in WATCH_KINDS:
            return f"T{SIGTRAP:02x}{stop.why}:{stop.addr:x};{THREAD}"
        if stop.why == INTERRUPTED:
            return f"T{SIGINT:02x}{THREAD}"
        return f"T{SIGTRAP:02x}{THREAD}"

    def _exit_reply(self) -> str:
        g = self.guest
        if g.state is GuestState.HALTED and g.halt is not None:
            kind, code = g.halt
            return f"W{(code & 0xFF) or 1:02x}" if kind == "fail" else "W00"
        if g.state is GuestState.CRASHED:
            return f"X{SIGSEGV:02x}"
        return f"X{SIGKILL:02x}"
