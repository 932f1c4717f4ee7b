"""The GDB stub at the protocol level: a small RSP client (what gdb sends, packet by
packet) against tiny assembly guests served on the VMM's asyncio tasks, as
`tuivmm run` serves them.  tests/test_gdb.py drives the real gdb-multiarch."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from vmm.vmmharness import HALT, MIB, PMP_ALL, Sv32, enter, fail, guest

from machine.cpu import csrs as C
from machine.cpu.triggers import compare
from tuivmm.tools.debugger import DEBUG_TRIGGERS, EBREAK, trigger_pieces
from tuivmm.tools.gdbstub import GdbStub, checksum, frame
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm.bt import SRET, TRAP_WORD

TIMEOUT = 20  # seconds for any one exchange: a hang fails the test instead of blocking it
REG_PC, REG_PRIV = 32, 65 + 4096


def reg(csr: int) -> int:
    return 65 + csr


def le32(value: int) -> str:
    return value.to_bytes(4, "little").hex()


def word(reply: str) -> int:
    return int.from_bytes(bytes.fromhex(reply), "little")


class Rsp:
    """A GDB remote-protocol client, one packet at a time (acks handled here)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.ack = True

    @classmethod
    async def connect(cls, port: int) -> Rsp:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, payload: str | bytes) -> None:
        """Send one packet and, in ack mode, wait for its '+'."""
        data = payload.encode("latin-1") if isinstance(payload, str) else payload
        self.writer.write(frame(data))
        await self.writer.drain()
        if self.ack:
            assert await self._read(1) == b"+"

    async def recv(self) -> str:
        """The next packet from the stub (acked, checksum checked)."""
        start = await self._read(1)
        while start == b"+":
            start = await self._read(1)
        assert start == b"$", start
        body = (await asyncio.wait_for(self.reader.readuntil(b"#"), TIMEOUT))[:-1]
        check = await self._read(2)
        assert int(check, 16) == checksum(body)
        if self.ack:
            self.writer.write(b"+")
        return body.decode("latin-1")

    async def ask(self, payload: str | bytes) -> str:
        await self.send(payload)
        return await self.recv()

    async def monitor(self, command: str) -> str:
        """A `monitor` command: its console output (O packets), up to the OK."""
        await self.send("qRcmd," + command.encode().hex())
        out = ""
        while (reply := await self.recv()) != "OK" and reply.startswith("O"):
            out += bytes.fromhex(reply[1:]).decode()
        assert reply == "OK", reply
        return out

    async def _read(self, n: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(n), TIMEOUT)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def debugging(source: str, *others: str, hold: bool = True, vmm: Vmm | None = None, **options):
    """A VMM running `source` (named "t", under a GDB stub, held unless not `hold`) and
    `others` (named "o1", "o2", ...) as asyncio tasks; yields (the guest, the stub, a
    connected client, the other guests' tasks)."""
    vmm, g = guest(source, vmm, ram_size=MIB, **options)
    rest = [guest(src, vmm, name=f"o{i + 1}", ram_size=MIB)[1] for i, src in enumerate(others)]
    stub = await GdbStub.start(vmm, g, 0, hold=hold)
    tasks = [asyncio.create_task(vmm.serve(x)) for x in (g, *rest)]
    client = await Rsp.connect(stub.port)
    try:
        yield g, stub, client, tasks[1:]
    finally:
        await client.close()
        await stub.close()
        for x in (g, *rest):
            x.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)


def run(coro) -> None:
    asyncio.run(asyncio.wait_for(coro, 4 * TIMEOUT))


COUNTER = f"""
_start: li   s0, 0
        la   s1, var
        la   s5, var + 8
loop:   addi s0, s0, 1
store:  sw   s0, 0(s1)
load:   lw   s3, 0(s1)
        lw   s2, 4(s1)          # the word beside the watched one
        add  s4, s4, s2
        amoadd.w s6, s0, (s5)   # and an atomic on the same page
        li   t0, 5
        blt  s0, t0, loop
done:
{HALT}
        .org 0x1000
var:    .word 0
        .word 7
        .word 0
"""

SPIN = """
_start: li   a0, 1
spin:   addi a1, a1, 1
        j    spin
"""

COUNT_TO_A_MILLION = f"""
_start: li   t0, 1000000
1:      addi t0, t0, -1
        bnez t0, 1b
{HALT}
"""


# --- connecting, registers -------------------------------------------------------------


def test_a_held_guest_waits_at_its_first_instruction_while_another_runs_to_its_end():
    async def main():
        async with debugging(SPIN, COUNT_TO_A_MILLION) as (g, stub, gdb, others):
            await asyncio.wait_for(others[0], TIMEOUT)  # the other guest's task: it halted
            assert stub.attached
            assert g.state is GuestState.DEBUG and g.state.value == "stopped in debugger"
            assert g.instructions == 0 and g.pc == 0x8000_0000
            assert await gdb.ask("?") == "T05thread:01;"

    run(main())


def test_registers_read_and_write_and_the_target_description_numbers_the_csrs_as_gdb_does():
    async def main():
        async with debugging(SPIN) as (g, stub, gdb, _):
            supported = await gdb.ask("qSupported:multiprocess+;swbreak+;xmlRegisters=riscv")
            assert "qXfer:features:read+" in supported and "swbreak+" in supported
            xml = ""
            while True:
                chunk = await gdb.ask(f"qXfer:features:read:target.xml:{len(xml):x},200")
                xml += chunk[1:]
                if chunk[0] == "l":
                    break
            assert '<feature name="org.gnu.gdb.riscv.csr">' in xml
            assert f'<reg name="sstatus" bitsize="32" regnum="{reg(C.SSTATUS)}"/>' in xml
            assert f'<reg name="priv" bitsize="32" regnum="{REG_PRIV}"/>' in xml
            regs = await gdb.ask("g")
            assert len(regs) == 33 * 8
            assert word(regs[32 * 8 :]) == 0x8000_0000 and word(regs[10 * 8 : 11 * 8]) == 0
            assert await gdb.ask(f"Pa={le32(0x1234_5678)}") == "OK"  # a0
            assert g.vcpu.x[10] == 0x1234_5678 and word(await gdb.ask("pa")) == 0x1234_5678
            assert await gdb.ask(f"P0={le32(5)}") == "OK" and word(await gdb.ask("p0")) == 0  # x0 stays 0
            assert await gdb.ask(f"P{reg(C.MSCRATCH):x}={le32(0xCAFE)}") == "OK"
            assert g.vcpu.mscratch == 0xCAFE
            assert word(await gdb.ask(f"p{reg(C.MISA):x}")) == g.vcpu.csr_read(C.MISA)
            assert word(await gdb.ask(f"p{REG_PRIV:x}")) == C.M
            assert await gdb.ask(f"P{reg(C.MVENDORID):x}={le32(1)}") == "E16"  # read-only
            assert await gdb.ask("p2000") == "E16"  # no such register
            assert await gdb.ask(f"P{REG_PC:x}={le32(0x8000_0004)}") == "OK"
            assert g.pc == 0x8000_0004
            assert await gdb.ask("qC") == "QC1" and await gdb.ask("qfThreadInfo") == "m1"
            assert await gdb.ask("qAttached") == "1"

    run(main())


# --- breakpoints, stepping, continuing ---------------------------------------------------------


def test_a_breakpoint_stops_the_guest_there_hides_its_ebreak_and_is_stepped_over_on_continue():
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            store, load = g.symbols["store"], g.symbols["load"]
            original = g.window.read_u32(store)
            assert await gdb.ask(f"Z0,{store:x},4") == "OK"
            assert g.window.read_u32(store) == EBREAK
            assert await gdb.ask(f"m{store:x},4") == le32(original)  # the guest's own word
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.pc == store and g.vcpu.x[8] == 1  # s0
            # Continuing from the breakpoint runs the real instruction once, then stops again.
            assert await gdb.ask("vCont;c") == "T05swbreak:;thread:01;"
            assert g.pc == store and g.vcpu.x[8] == 2
            # `load` has run (its code is translated): a breakpoint there still stops it.
            assert await gdb.ask(f"Z0,{load:x},4") == "OK"
            assert await gdb.ask(f"z0,{store:x},4") == "OK"
            assert g.window.read_u32(store) == original
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.pc == load and g.vcpu.x[8] == 2
            assert await gdb.ask(f"z0,{load:x},4") == "OK"
            assert await gdb.ask("c") == "W00"
            assert g.state is GuestState.HALTED
            assert g.window.read_u32(load) != EBREAK

    run(main())


COMPRESSED_LOOP = """
_start: li   a0, 0
spin:   .half 0x0585            # c.addi a1, 1
bump:   .half 0x0505            # c.addi a0, 1
        .half 0xbff5            # c.j spin
"""


def test_a_two_byte_breakpoint_on_compressed_code_stops_there_and_hides_its_c_ebreak():
    async def main():
        async with debugging(COMPRESSED_LOOP) as (g, stub, gdb, _):
            bump = g.symbols["bump"]
            assert bump & 2
            assert await gdb.ask(f"Z0,{bump:x},2") == "OK"  # gdb's kind 2: a C.EBREAK
            assert g.window.read_bytes(bump, 4) == bytes.fromhex("0290 f5bf")  # c.ebreak; c.j left alone
            assert await gdb.ask(f"m{bump:x},2") == "0505"  # the guest's own parcel
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.pc == bump and g.vcpu.x[10] == 0
            assert await gdb.ask("vCont;c") == "T05swbreak:;thread:01;"  # steps over it, round again
            assert g.pc == bump and g.vcpu.x[10] == 1 and g.vcpu.x[11] == 2
            assert await gdb.ask(f"z0,{bump:x},2") == "OK"
            assert g.window.read_bytes(bump, 2) == bytes.fromhex("0505")

    run(main())


def test_single_step_retires_one_instruction_or_lands_on_the_trap_handler():
    source = f"""
    _start: la   t0, handler
            csrw mtvec, t0
            li   a0, 42
    call:   ecall
    {HALT}
    handler:
            li   a1, 7
            csrr t1, mepc
            addi t1, t1, 4
            csrw mepc, t1
            mret
    """

    async def main():
        async with debugging(source) as (g, stub, gdb, _):
            steps = []
            for _ in range(5):  # auipc, addi, csrw (emulated by the VMM), li, ecall
                assert await gdb.ask("s") == "T05thread:01;"
                steps.append((g.pc, g.instructions))
            start = 0x8000_0000
            assert steps[:4] == [(start + 4, 1), (start + 8, 2), (start + 12, 3), (g.symbols["call"], 4)]
            assert g.vcpu.x[10] == 42
            assert steps[4][0] == g.symbols["handler"] and g.vcpu.mcause == C.ECALL_FROM_M
            assert word(await gdb.ask(f"p{reg(C.MEPC):x}")) == g.symbols["call"]
            assert await gdb.ask("vCont;s:1;c") == "T05thread:01;"
            assert g.vcpu.x[11] == 7
            assert await gdb.ask("c") == "W00"

    run(main())


def test_ctrl_c_stops_a_running_guest_and_detach_lets_it_run_on_without_breakpoints():
    async def main():
        async with debugging(SPIN) as (g, stub, gdb, _):
            await gdb.send("c")
            before = g.instructions
            while g.instructions < before + 100_000:  # it runs: wait until it has run a while
                await asyncio.sleep(0)
            gdb.writer.write(b"\x03")
            assert await gdb.recv() == "T02thread:01;"
            assert g.state is GuestState.DEBUG
            held_at = g.instructions
            assert word(await gdb.ask(f"p{REG_PC:x}")) in (g.symbols["spin"], g.symbols["spin"] + 4)
            spin = g.symbols["spin"]
            assert await gdb.ask(f"Z0,{spin:x},4") == "OK"
            assert g.instructions == held_at
            assert await gdb.ask("D") == "OK"
            while stub.attached:
                await asyncio.sleep(0)
            assert g.window.read_u32(spin) != EBREAK  # taken out
            while g.instructions < held_at + 100_000:  # and it runs again
                await asyncio.sleep(0)
            assert g.state is GuestState.RUNNING

    run(main())


def test_kill_stops_the_guest_for_good():
    async def main():
        async with debugging(SPIN) as (g, stub, gdb, _):
            await gdb.send("k")
            while stub.attached:
                await asyncio.sleep(0)
            assert g.state is GuestState.STOPPED and g.reason == "killed by the debugger"

    run(main())


def test_a_breakpoint_stops_one_guest_while_the_other_runs_to_its_end():
    async def main():
        async with debugging(SPIN, COUNT_TO_A_MILLION) as (g, stub, gdb, others):
            assert await gdb.ask(f"Z0,{g.symbols['spin']:x},4") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            at = g.instructions
            await asyncio.wait_for(others[0], TIMEOUT)
            other = g.vmm.guests[1]
            assert other.state is GuestState.HALTED and other.instructions > 2_000_000
            assert g.instructions == at and g.state is GuestState.DEBUG

    run(main())


# --- watchpoints ---------------------------------------------------------------------------


WATCH_SERVED = {"trigger": "trigger 0 (virtual address)", "pages": "page protection on guest-physical"}


async def serve_watches(gdb: Rsp, how: str) -> None:
    """Watchpoints by trigger (the default) or by page protection (what the stub falls
    back to with `monitor phys on`; addresses are the same here: no paging)."""
    if how == "pages":
        assert "guest-physical" in await gdb.monitor("phys on")


@pytest.mark.parametrize("how", list(WATCH_SERVED))
def test_a_write_watchpoint_stops_before_the_store_and_gdbs_step_over_lets_it_land(how):
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            await serve_watches(gdb, how)
            var = g.symbols["var"]
            assert await gdb.ask(f"Z2,{var:x},4") == "OK"
            assert WATCH_SERVED[how] in await gdb.monitor("points")
            assert await gdb.ask("c") == f"T05watch:{var:x};thread:01;"
            assert g.pc == g.symbols["store"] and g.window.read_u32(var) == 0  # not yet written
            # What gdb does with a non-steppable watchpoint: out, one step, back in.
            assert await gdb.ask(f"z2,{var:x},4") == "OK"
            assert await gdb.ask("s") == "T05thread:01;"
            assert g.window.read_u32(var) == 1
            assert await gdb.ask(f"Z2,{var:x},4") == "OK"
            assert await gdb.ask("c") == f"T05watch:{var:x};thread:01;"
            assert g.window.read_u32(var) == 1 and g.vcpu.x[8] == 2
            # Continuing with it still in: the stub steps over the store itself.
            assert await gdb.ask("c") == f"T05watch:{var:x};thread:01;"
            assert g.window.read_u32(var) == 2
            assert await gdb.ask(f"z2,{var:x},4") == "OK"
            assert await gdb.ask("c") == "W00"
            # The loads beside it and the atomic on the same page all did their work.
            assert g.window.read_u32(var) == 5 and g.vcpu.x[20] == 35  # s4: 5 * 7
            assert g.window.read_u32(var + 8) == 15

    run(main())


@pytest.mark.parametrize("how", list(WATCH_SERVED))
def test_a_read_watchpoint_stops_at_the_load_and_not_at_the_store_or_the_neighbours(how):
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            await serve_watches(gdb, how)
            var = g.symbols["var"]
            assert await gdb.ask(f"Z3,{var:x},4") == "OK"
            for n in (1, 2):
                assert await gdb.ask("c") == f"T05rwatch:{var:x};thread:01;"
                assert g.pc == g.symbols["load"] and g.window.read_u32(var) == n
            assert await gdb.ask(f"z3,{var:x},4") == "OK"
            assert await gdb.ask(f"Z4,{var:x},4") == "OK"  # access: the store stops it too
            assert await gdb.ask("c") == f"T05awatch:{var:x};thread:01;"
            assert g.pc == g.symbols["store"] and g.window.read_u32(var) == 2
            assert await gdb.ask("c") == f"T05awatch:{var:x};thread:01;"
            assert g.pc == g.symbols["load"] and g.window.read_u32(var) == 3
            assert await gdb.ask(f"z4,{var:x},4") == "OK"
            assert await gdb.ask("c") == "W00"
            assert g.window.read_u32(var) == 5 and g.vcpu.x[20] == 35 and g.window.read_u32(var + 8) == 15

    run(main())


def test_a_watchpoint_on_a_device_register_stops_before_the_store_the_vmm_would_emulate():
    source = f"""
    _start: li   t1, 0x10000000
            li   t2, 'h'
    first:  sb   t2, 0(t1)
            li   t2, 'i'
    second: sb   t2, 0(t1)
    {HALT}
    """
    async def main():
        async with debugging(source) as (g, stub, gdb, _):
            assert await gdb.ask("Z2,10000000,1") == "OK"  # the UART's THR: not RAM
            assert await gdb.ask("c") == "T05watch:10000000;thread:01;"
            assert g.pc == g.symbols["first"] and bytes(g.output) == b""  # before the store
            assert await gdb.ask("c") == "T05watch:10000000;thread:01;"  # stepped over the first
            assert g.pc == g.symbols["second"] and bytes(g.output) == b"h"
            assert await gdb.ask("z2,10000000,1") == "OK"
            assert await gdb.ask("c") == "W00"
            assert bytes(g.output) == b"hi"

    run(main())


def test_hbreak_is_a_trigger_that_leaves_guest_memory_alone_and_stops_in_any_mode():
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            store = g.symbols["store"]
            code = g.window.read_bytes(g.window.base, 0x2000)
            assert "hwbreak+" in await gdb.ask("qSupported:swbreak+;hwbreak+")
            assert await gdb.ask(f"Z1,{store:x},4") == "OK"
            assert g.window.read_bytes(g.window.base, 0x2000) == code  # no EBREAK anywhere
            assert f"hbreak {store:#010x}: trigger 0 (execute" in await gdb.monitor("points")
            # Virtual M-mode with MIE clear: the guest's own triggers could not fire here,
            # the debugger's do.
            assert g.vcpu.priv == C.M and not g.vcpu.mstatus & C.MSTATUS_MIE
            assert await gdb.ask("c") == "T05hwbreak:;thread:01;"
            assert g.pc == store and g.vcpu.x[8] == 1 and g.window.read_u32(g.symbols["var"]) == 0
            # A step from it runs the instruction; a continue steps over it and comes round.
            assert await gdb.ask("s") == "T05thread:01;"
            assert g.pc == g.symbols["load"] and g.window.read_u32(g.symbols["var"]) == 1
            assert await gdb.ask("c") == "T05hwbreak:;thread:01;"
            assert g.pc == store and g.vcpu.x[8] == 2
            assert await gdb.ask("c") == "T05hwbreak:;thread:01;"
            assert g.vcpu.x[8] == 3
            assert await gdb.ask(f"z1,{store:x},4") == "OK"
            assert await gdb.monitor("points") == "no breakpoints or watchpoints\n"
            assert await gdb.ask("c") == "W00"
            assert g.window.read_u32(g.symbols["var"]) == 5

    run(main())


def test_hbreak_stops_code_written_after_it_was_set_where_an_ebreak_would_be_overwritten():
    source = f"""
    _start: la   t0, routine
            la   t1, dest
            lw   t2, 0(t0)          # copy the routine's two words to dest
            sw   t2, 0(t1)
            lw   t2, 4(t0)
            sw   t2, 4(t1)
            fence.i
            jalr ra, 0(t1)
    back:
    {HALT}
    routine: li  a0, 99
            ret
            .org 0x800
    dest:   .word 0, 0
    """
    async def main():
        for kind, reply in (("Z1", "T05hwbreak:;thread:01;"), ("Z0", "W00")):
            async with debugging(source) as (g, stub, gdb, _):
                dest = g.symbols["dest"]
                assert await gdb.ask(f"{kind},{dest:x},4") == "OK"
                # hbreak: stops at the copied code; break: its EBREAK was copied over.
                assert await gdb.ask("c") == reply
                if kind == "Z1":
                    assert g.pc == dest and g.vcpu.x[10] == 0
                    assert await gdb.ask("c") == "W00"
                assert g.vcpu.x[10] == 99

    run(main())


def test_the_debugger_has_four_triggers_then_hbreak_fails_and_watchpoints_use_pages():
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            var = g.symbols["var"]
            base = g.symbols["_start"]
            for k in range(DEBUG_TRIGGERS - 1):
                assert await gdb.ask(f"Z1,{base + 0x100 + 4 * k:x},4") == "OK"
            # A 6-byte range from var+1 takes 1 + 2 + 2 + 1 bytes: four triggers; one is left.
            assert await gdb.ask(f"Z2,{var + 1:x},6") == "OK"
            assert "page protection" in await gdb.monitor("points")
            assert await gdb.ask(f"Z1,{base + 0x200:x},4") == "OK"  # the fourth trigger
            assert await gdb.ask(f"Z1,{base + 0x204:x},4") == "E14"  # none left: as on a board
            assert await gdb.ask(f"z1,{base + 0x200:x},4") == "OK"
            assert await gdb.ask(f"Z2,{var:x},4") == "OK"  # back on a trigger
            points = await gdb.monitor("points")
            assert f"watch  {var:#010x} (4 bytes): trigger 3" in points
            assert f"watch  {var + 1:#010x} (6 bytes): page protection" in points
            # The store hits both: the trigger, checked before the access, stops it first.
            assert await gdb.ask("c") == f"T05watch:{var:x};thread:01;"
            assert g.pc == g.symbols["store"] and g.vcpu.x[8] == 1
            assert await gdb.ask(f"z2,{var:x},4") == "OK"
            # Continuing steps over the access it stopped before (no watchpoint stops that
            # one), and the page-protected one stops the next round's store.
            assert await gdb.ask("c") == f"T05watch:{var + 1:x};thread:01;"
            assert g.pc == g.symbols["store"] and g.vcpu.x[8] == 2

    run(main())


def test_trigger_pieces_cover_exactly_the_range():
    """Every byte of [addr, addr + length) matches one piece, no byte around it does."""
    for addr in (0x8000_1000, 0x8000_1001, 0x8000_1003, 0x8000_0ffe, 0x7fff_fff9):
        for length in (1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 64, 100):
            pieces = trigger_pieces(addr, length)
            assert len(pieces) <= 2 * length.bit_length() + 1
            for a in range(addr - 70, addr + length + 70):
                hits = sum(compare(match, tdata2, (a,)) for tdata2, match in pieces)
                assert hits == (1 if addr <= a < addr + length else 0), (hex(addr), length, hex(a))
    assert trigger_pieces(0x8000_1000, 4) == [(0x8000_1001, 1)]  # NAPOT, one trigger
    assert trigger_pieces(0x8000_1003, 1) == [(0x8000_1003, 0)]  # equal


# --- memory ---------------------------------------------------------------------------------


def paged_guest() -> tuple[str, dict[int, int]]:
    """A guest that turns Sv32 on, maps VA 0x4000_0000 to a data page, and spins in
    S-mode; and the page-table words and data to poke in first."""
    tables = Sv32(0x8001_0000)
    tables.map_mega(0x8000_0000, 0x8000_0000, 0xCF)  # V R W X A D: the code, identity
    tables.map_page(0x4000_0000, 0x8002_0000, 0xC7)  # V R W A D
    source = f"""
    _start:
    {PMP_ALL}
            li   t0, {tables.satp:#x}
            csrw satp, t0
            sfence.vma
    {enter("S", "smode")}
    smode:  li   a0, 0x40000000
            lw   a1, 0(a0)
    spin:   j    spin
    """
    pokes = dict(tables.words)
    pokes.update({0x8002_0000: 0x1122_3344, 0x8002_0004: 0x5566_7788})
    return source, pokes


def test_memory_through_the_guests_page_tables_and_guest_physical_with_monitor_phys():
    source, pokes = paged_guest()

    async def main():
        async with debugging(source) as (g, stub, gdb, _):
            for addr, value in pokes.items():
                g.window.write_u32(addr, value)
            assert await gdb.ask(f"Z0,{g.symbols['spin']:x},4") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert word(await gdb.ask(f"p{REG_PRIV:x}")) == C.S
            assert g.vcpu.x[11] == 0x1122_3344
            assert await gdb.ask("m40000000,8") == le32(0x1122_3344) + le32(0x5566_7788)
            assert await gdb.ask("M40000004,4:" + le32(0xA1B2_C3D4)) == "OK"
            assert g.window.read_u32(0x8002_0004) == 0xA1B2_C3D4
            assert await gdb.ask(b"X40000000,4:" + bytes([0x7D, 0x23, 0x24, 0x00])) == "OK"  # sent escaped
            assert g.window.read_u32(0x8002_0000) == 0x0024_237D
            assert await gdb.ask("m50000000,4") == "E14"  # not mapped
            assert await gdb.ask("m40000ffe,4") == "0000"  # readable up to the end of the mapping
            assert "-> guest-physical 0x80020010" in await gdb.monitor("translate 0x40000010")
            assert "guest-physical" in await gdb.monitor("phys on")
            assert await gdb.ask("m80020004,4") == le32(0xA1B2_C3D4)
            assert await gdb.ask("m40000000,4") == "E14"  # no RAM there
            assert await gdb.ask("m0,4") == "E14" and await gdb.ask("M7ffffffe,4:00000000") == "E14"
            assert "guest-virtual" in await gdb.monitor("phys off")
            assert "phys [on|off]" in await gdb.monitor("help")
            assert "stopped in debugger, S-mode" in await gdb.monitor("guest")

    run(main())


def test_a_breakpoint_where_the_guest_may_not_execute_stops_it_before_the_fetch_faults():
    # gdb calling a function in the guest: a nop and a breakpoint on the stack, ra
    # pointing there, pc at the function.  The stack page is not executable: the
    # guest's return there would fault before the EBREAK runs, but stops at it first.
    tables = Sv32(0x8001_0000)
    tables.map_mega(0x8000_0000, 0x8000_0000, 0xCF)  # V R W X A D: the code, identity
    tables.map_page(0x4000_0000, 0x8002_0000, 0xC7)  # V R W A D: the stack, not X
    source = f"""
    _start:
    {PMP_ALL}
            la   t0, trap
            csrw mtvec, t0
            li   t0, {tables.satp:#x}
            csrw satp, t0
            sfence.vma
    {enter("S", "smode")}
    smode:  li   sp, 0x40001000
    spin:   j    spin
    func:   li   a0, 42
            ret
    trap:   csrr a3, mcause
    {HALT}
    """
    nop = 0x0000_0013

    async def main():
        async with debugging(source) as (g, _stub, gdb, _):
            for addr, value in tables.words.items():
                g.window.write_u32(addr, value)
            spin, func, trap = g.symbols["spin"], g.symbols["func"], g.symbols["trap"]
            assert await gdb.ask(f"Z0,{spin:x},4") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            ret = 0x4000_0FF0  # on the stack, below sp
            assert await gdb.ask(f"M{ret:x},4:{le32(nop)}") == "OK"
            assert await gdb.ask(f"Z0,{ret:x},4") == "OK"
            assert g.window.read_u32(0x8002_0FF0) == EBREAK
            assert await gdb.ask(f"P1={le32(ret)}") == "OK"  # ra
            assert await gdb.ask(f"P{REG_PC:x}={le32(func)}") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.pc == ret and g.vcpu.x[10] == 42 and g.priv == C.S
            assert g.vcpu.mcause == 0  # the guest never saw a fault
            # Stepped over, the breakpoint's own word runs, and the guest gets its fault.
            assert await gdb.ask("s") == "T05thread:01;"
            assert g.pc == trap and g.vcpu.mcause == C.INSN_PAGE_FAULT and g.vcpu.mepc == ret
            assert await gdb.ask(f"z0,{ret:x},4") == "OK"
            assert g.window.read_u32(0x8002_0FF0) == nop
            assert await gdb.ask("c") == "W00"
            assert g.vcpu.x[13] == C.INSN_PAGE_FAULT

    run(main())


def test_memory_writes_reach_translated_code():
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            store = g.symbols["store"]
            assert await gdb.ask(f"Z0,{store:x},4") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"  # the loop ran once: translated
            assert g.vcpu.x[8] == 2
            loop = g.symbols["loop"]
            addi_s0_s0_2 = 0x0024_0413
            assert await gdb.ask(f"M{loop:x},4:{le32(addi_s0_s0_2)}") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.vcpu.x[8] == 4

    run(main())


# --- errors ---------------------------------------------------------------------------------


def test_bad_packets_get_error_replies_and_never_break_the_stub():
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            gdb.writer.write(b"$m0,4#00")  # a bad checksum: NAK, and nothing done
            assert await gdb._read(1) == b"-"
            assert await gdb.ask("m80000000") == "E01"
            assert await gdb.ask("mzz,4") == "E01"
            assert await gdb.ask("M80000000,4:00") == "E01"  # fewer bytes than it says
            assert await gdb.ask("Z0,80000001,4") == "E14"  # not an instruction's address
            assert await gdb.ask("Z0,80000000,3") == "E16"  # kinds are 2 (C.EBREAK) and 4
            assert await gdb.ask("Z0,10000000,4") == "E14"  # a device, not RAM
            assert await gdb.ask("Z2,7ffffffc,8") == "OK"  # a trigger: any address
            assert await gdb.ask("z2,7ffffffc,8") == "OK"
            assert "guest-physical" in await gdb.monitor("phys on")
            assert await gdb.ask("Z2,7ffffffc,8") == "E14"  # page protection: guest RAM only
            assert "guest-virtual" in await gdb.monitor("phys off")
            assert await gdb.ask("z0,80000100,4") == "OK"  # none there: nothing to do
            assert await gdb.ask("vFlashErase:0,4") == ""  # not supported
            assert "unknown monitor command" in await gdb.monitor("reboot")
            assert await gdb.ask("QStartNoAckMode") == "OK"
            gdb.ack = False
            assert await gdb.ask("?") == "T05thread:01;"
            # A second debugger is turned away while one is attached.
            other = await Rsp.connect(stub.port)
            assert await other.reader.read(1) == b""
            await other.close()
            assert await gdb.ask("c") == "W00"

    run(main())


def test_a_guest_that_ends_while_running_reports_its_exit_code_or_how_it_stopped():
    async def ends(source: str, expect: str, **options) -> None:
        async with debugging(source, **options) as (g, stub, gdb, _):
            assert await gdb.ask("c") == expect
            assert await gdb.ask("?") == expect
            assert await gdb.ask("s") == expect

    crash = f"""
    _start:
    {PMP_ALL}
            li   t0, 1
            csrw sscratch, t0      # a misaligned HV_SRET save area: the VMM cannot go on
    {enter("S", "kern")}
    kern:   li   a7, 0x0854564D
            li   a6, 0
            ecall
    """

    async def main():
        await ends(COUNT_TO_A_MILLION, "W00")
        await ends(f"_start: nop\n{fail(5)}", "W05")
        await ends(crash, "X0b", remedy="pv")

    run(main())


def test_an_instruction_limit_ends_a_debugged_guest_with_sigkill():
    async def main():
        async with debugging(SPIN) as (g, stub, gdb, _):
            g.instruction_limit = 1000
            assert await gdb.ask("c") == "X09"
            assert g.state is GuestState.STOPPED

    run(main())


# --- with the rest of the VMM ------------------------------------------------------------------


def test_breakpoints_and_binary_translation_keep_each_others_words():
    # The breakpoint sits on the SRET that binary translation patches: memory reads show
    # the SRET, a step runs it (emulated, as bt wants), and taking the breakpoint out
    # leaves bt's trapping word, so the flawed hardware still never runs the SRET.
    source = f"""
    _start: la   t0, trap
            csrw mtvec, t0
    {PMP_ALL}
    {enter("S", "kern")}
    kern:   la   t0, user
            csrw sepc, t0
            li   t0, 0x100
            csrc sstatus, t0        # SPP = U
    sret_here:
            sret
    user:   ecall
    trap:
    {HALT}
    """

    async def main():
        async with debugging(source, vmm=Vmm(flawed_eret=True), remedy="bt") as (g, stub, gdb, _):
            at = g.symbols["sret_here"]
            assert await gdb.ask(f"Z0,{at:x},4") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.pc == at and g.priv == C.S
            assert (at >> 12) in g.bt.scanned
            assert await gdb.ask(f"m{at:x},4") == le32(SRET)
            assert await gdb.ask("s") == "T05thread:01;"
            assert g.pc == g.symbols["user"] and g.priv == C.U
            assert await gdb.ask(f"z0,{at:x},4") == "OK"
            assert g.window.read_u32(at) == TRAP_WORD and g.bt.patched[at] == SRET
            assert await gdb.ask("c") == "W00"

    run(main())


def test_a_reset_keeps_a_held_guest_held_with_its_breakpoints():
    async def main():
        async with debugging(COUNTER) as (g, stub, gdb, _):
            store = g.symbols["store"]
            assert await gdb.ask(f"Z0,{store:x},4") == "OK"
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            g.reset()  # the dashboard's reset: RAM back from the image, over the EBREAK
            assert g.state is GuestState.DEBUG and g.pc == 0x8000_0000
            assert g.window.read_u32(store) == EBREAK
            assert await gdb.ask("c") == "T05swbreak:;thread:01;"
            assert g.vcpu.x[8] == 1

    run(main())


def test_without_hold_the_guest_runs_until_a_debugger_attaches():
    async def main():
        async with debugging(SPIN, hold=False) as (g, stub, gdb, _):
            assert await gdb.ask("?") == "T05thread:01;"
            assert g.state is GuestState.DEBUG

    run(main())
