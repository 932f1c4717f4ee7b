"""Per-guest controls (pause, resume, step, reset, stop, input), the asyncio tasks,
and the inspection API the dashboard reads."""

from __future__ import annotations

import asyncio

from machine.cpu.csrs import PRIV_NAMES
from tuivmm.lineup.packaged import resolve
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm.traplog import RateMeter


def test_a_paused_guest_does_not_run_while_the_others_finish_and_resumes_where_it_was():
    vmm = Vmm()
    hello = vmm.add_guest(resolve("hello"))
    compute = vmm.add_guest(resolve("compute"), net=False)
    vmm.run_slice(compute, 5000)
    compute.pause()
    at = compute.instructions
    vmm.run()
    assert hello.state is GuestState.HALTED and compute.state is GuestState.PAUSED
    assert compute.instructions == at
    compute.resume()
    vmm.run()
    assert compute.state is GuestState.HALTED and compute.halt == ("pass", 0)
    assert compute.output.decode().endswith("compute: done\n")


def test_single_step_retires_one_instruction_at_a_time_and_leaves_the_guest_paused():
    vmm = Vmm()
    g = vmm.add_guest(resolve("hello"), paused=True)
    counts = []
    for _ in range(6):
        vmm.step(g)
        counts.append(g.instructions)
        assert g.state is GuestState.PAUSED
    assert counts == [1, 2, 3, 4, 5, 6]
    g.resume()
    vmm.run()
    assert g.output == b"Hello from hello, a tuivmm guest!\n"


def test_reset_runs_the_guest_again_from_its_image_and_stop_ends_it():
    vmm = Vmm()
    g = vmm.add_guest(resolve("hello"))
    vmm.run()
    assert g.state is GuestState.HALTED
    g.reset()
    vmm.run()
    assert g.output == b"Hello from hello, a tuivmm guest!\n" * 2
    other = vmm.add_guest(resolve("compute"), net=False)
    vmm.run_slice(other, 1000)
    other.stop()
    assert other.state is GuestState.STOPPED and other.state.finished
    assert not vmm.run_round()


def test_guests_run_as_asyncio_tasks_interleaved_slice_by_slice():
    vmm = Vmm(slice_cycles=5000)
    a = vmm.add_guest(resolve("compute"), net=False)
    b = vmm.add_guest(resolve("compute"), net=False)
    order = []
    for guest in (a, b):
        guest.on_output = lambda data, name=guest.name: order.append(name)

    async def main():
        await asyncio.gather(vmm.serve(a), vmm.serve(b))

    asyncio.run(main())
    assert a.halt == b.halt == ("pass", 0)
    assert a.output == b.output
    # Both print as they go, so their lines interleave rather than one finishing first.
    first_b = order.index("compute-2")
    assert "compute" in order[first_b:]


def run_until(vmm, guest, text: str, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if text in guest.output.decode():
            return
        vmm.run_slice(guest)
    raise AssertionError(f"{text!r} never appeared: {guest.output.decode()[-200:]!r}")


def test_console_input_reaches_a_sleeping_guest_and_an_idle_one_wakes_for_it():
    from machine.cpu.asm import assemble

    vmm = Vmm()
    basic = vmm.add_guest(resolve("basic"))
    run_until(vmm, basic, "READY.\n")
    basic.send_input(b"PRINT 6*7\n")
    run_until(vmm, basic, "PRINT 6*7\n42\n")
    # A guest asleep with no timer armed is IDLE: no slices until input comes.
    echo = vmm.add_guest(program=assemble("""
    _start: li t0, 0x10000000
            li t1, 1
            sb t1, 1(t0)          # UART: interrupt on received data
            li t1, 0x0c000028     # PLIC: priority of IRQ 10
            li t2, 1
            sw t2, 0(t1)
            li t1, 0x0c002000     # PLIC: enable IRQ 10 for hart 0 M-mode
            li t2, 0x400
            sw t2, 0(t1)
            li t1, 0x800          # mie.MEIE
            csrw mie, t1
    wait:   wfi
            lbu t1, 5(t0)         # LSR: data ready?
            andi t1, t1, 1
            beqz t1, wait
            lbu t1, 0(t0)
            sb t1, 0(t0)          # echo it
            li t2, 0x71           # 'q' powers off
            bne t1, t2, wait
            li t0, 0x100000
            li t1, 0x5555
            sw t1, 0(t0)
    """, 0x8000_0000), name="echo", net=False)
    vmm.run_slice(echo)
    assert echo.state is GuestState.IDLE
    asleep_at = echo.instructions
    vmm.run_slice(echo)
    assert echo.instructions == asleep_at and echo.state is GuestState.IDLE
    echo.send_input(b"hiq")
    assert echo.state is GuestState.RUNNING
    for _ in range(50):
        vmm.run_slice(echo)
    assert echo.output == b"hiq" and echo.halt == ("pass", 0)


def test_the_inspection_api_shows_the_guest_physical_map_the_host_map_and_both_page_tables():
    vmm = Vmm()
    g = vmm.add_guest(resolve("eret-escape"), ram_size=16 << 20)
    while "entering user mode" not in g.output.decode():
        vmm.run_slice(g, 2000)
    regions = {name: (start, end, host) for start, end, name, host in g.memory_map()}
    assert regions["ram"] == (0x8000_0000, 0x8000_0000 + (16 << 20), g.window.host_base)
    assert regions["uart0"][:2] == (0x1000_0000, 0x1000_0100) and regions["uart0"][2] is None
    owners = [name for _, _, name in vmm.host_map()]
    assert owners[0].startswith("shadow pool") and "eret-escape" in owners and owners[-1] == "free"
    rows = g.page_table_view()
    secret = [r for r in rows if r[0] == 0x8000_4000]
    assert secret and secret[0][1] == 0x8000_4000 and not secret[0][2] & 0x10  # kernel-only: U clear
    filled = [r for r in rows if r[3] is not None]
    assert filled and all(g.window.host_base <= hpa < g.window.host_base + g.window.size for *_, hpa, _ in filled)
    assert PRIV_NAMES[g.priv] == "S"
    assert len(g.registers()) == 32


def test_exit_rates_are_exits_per_second_between_samples():
    vmm = Vmm()
    g = vmm.add_guest(resolve("trapstorm"))
    meter = RateMeter()
    meter.sample(g.log, 0.0)
    vmm.run_slice(g, 20_000)
    before = dict(g.log.counts)
    rates = meter.sample(g.log, 2.0)
    assert rates["csr"] == before["csr"] / 2.0 and rates["csr"] > 0
    assert list(meter.history) == [g.log.total / 2.0]


# A guest that reads the CLINT's mtime when it boots, keeps it in s1, counts its boots
# in RAM it does not zero (s2), then waits for an interrupt that never comes.
MTIME_AT_BOOT = """
        li   t0, 0x0200bff8      # CLINT mtime, low half
        lw   s1, 0(t0)
        la   t1, boots
        lw   s2, 0(t1)
        addi s2, s2, 1
        sw   s2, 0(t1)
1:      wfi
        j    1b
        .align 12
boots:  .word 0
"""


def test_a_reset_gives_a_fresh_machine_clock_ram_and_counters_from_zero():
    from machine.cpu.asm import assemble

    vmm = Vmm()
    g = vmm.add_guest(program=assemble(MTIME_AT_BOOT), net=False)
    vmm.run()
    first = (g.vcpu.x[9], g.vcpu.x[18])  # s1: mtime at boot; s2: boots seen in RAM
    assert g.state is GuestState.IDLE and first[1] == 1
    for _ in range(2):
        g.reset()
        assert g.vcpu.cycles == 0 and g.vcpu.clock.mtime() == 0
        assert g.log.total == 0 and not any(g.log.counts.values()) and g.hidden_faults == 0
        vmm.run()
        # The same boot, to the instruction: the clock starts from zero, RAM is zeroed.
        assert (g.vcpu.x[9], g.vcpu.x[18]) == first
    assert g.retired_total == 3 * g.instructions
    resets = [e for e in g.log.events if e.reason == "reset"]
    assert len(resets) == 2 and "a fresh machine" in resets[0].describe()
    assert sum(1 for e in g.log.events if e.reason == "mmio") == 3  # the log keeps every boot's lines


def test_max_insns_counts_every_instruction_across_resets():
    vmm = Vmm()
    g = vmm.add_guest(resolve("hello"))
    vmm.run()
    ran = g.retired_total
    g.instruction_limit = ran + 100
    g.reset()
    vmm.run()
    assert g.state is GuestState.STOPPED and g.retired_total == ran + 100


def test_rates_start_again_after_a_reset():
    vmm = Vmm()
    g = vmm.add_guest(resolve("hello"))
    meter = RateMeter()
    meter.sample(g.log, 0.0)
    vmm.run()
    assert sum(meter.sample(g.log, 1.0).values()) > 0
    g.reset()
    assert all(rate == 0 for rate in meter.sample(g.log, 2.0).values())
    assert not meter.history
