"""Our SBI firmware (guests/sbi) with an S-mode payload behind it
(tests/programs/sbi_payload.c): the payload calls every SBI function the firmware
serves and prints what came back; the console is the same on QEMU, on our bare
machine and as a guest of the VMM, and is what the SBI spec asks for.

The payload ends by dumping, in hex, the device tree the firmware handed it in a1:
dtc reads it, and it has the /reserved-memory node the firmware added, keeping Linux
off the firmware's 256 KiB.

With `--sbi vmm` the VMM serves the same calls itself, with no firmware running
(tuivmm/vmm/sbi_server.py): the same console, but for what only a firmware has."""

import os
import re
import struct
import subprocess
import sys

import pytest
from toolchain import ROOT, build_dir, cross_tool, find_tool, run_ours, run_qemu, run_tool, run_under_vmm

from machine.fdt import Node, cells, pack, string, unpack

PROGRAMS = ROOT / "tests" / "programs"

# What the payload prints on any of the three, between the firmware's banner and
# the device tree.  0x74756976 is our implementation id ("tuiv"), version 1.
EXPECTED = """\
payload: in S-mode, hart 0, dtb magic 0xd00dfeed
base: spec version 2.0
base: impl id: error 0, value 1953851766
base: impl version: error 0, value 1
base: probe 0x00000010: error 0, value 1
base: probe 0x54494d45: error 0, value 1
base: probe 0x00735049: error 0, value 1
base: probe 0x52464e43: error 0, value 1
base: probe 0x0048534d: error 0, value 1
base: probe 0x53525354: error 0, value 1
base: probe 0x4442434e: error 0, value 1
base: probe 0x00000000: error 0, value 1
base: probe 0x00000001: error 0, value 1
base: probe 0x00000002: error 0, value 1
base: probe 0x00000008: error 0, value 1
base: probe 0x12345678: error 0, value 0
base: probe 0x00504d55: error 0, value 0
base: mvendorid/marchid/mimpid errors 000
base: unknown function: error -2, value 0
unknown extension: error -2, value 0
registers kept across a call: yes
legacy putchar
legacy getchar: -1
dbcn write_byte
dbcn write
dbcn write: error 0, value 11
dbcn read with nothing typed: error 0, value 0
dbcn write from the firmware's memory: error -3, value 0
dbcn write above 4 GiB: error -3, value 0
pmp: reading the firmware: scause 0x00000005, nothing read
time: set_timer: error 0, value 0
time: interrupt, scause 0x80000005, at or after the deadline
legacy set_timer: interrupt, scause 0x80000005
ipi: send_ipi to hart 0: error 0, value 0
ipi: scause 0x80000001
ipi: send_ipi to hart 1: error -3, value 0
rfence: fence.i: error 0, value 0
rfence: sfence.vma: error 0, value 0
rfence: sfence.vma asid: error 0, value 0
rfence: all harts: error 0, value 0
rfence: hfence.gvma: error -2, value 0
hsm: status of hart 0: error 0, value 0
hsm: status of hart 1: error -3, value 0
hsm: start hart 0: error -6, value 0
hsm: retentive suspend: error 0, value 0
hsm: woken by the timer
time: set_timer cleared STIP
hsm: non-retentive suspend: error -2, value 0
srst: bad type: error -3, value 0
srst: shutdown
"""
BANNER = re.compile(
    r"tuivmm sbi: SBI 2\.0, 128 MiB RAM at 80000000, payload at 80400000 \(\d+ KiB\), dtb at 87e00000\n"
)


@pytest.fixture(scope="module")
def firmware():
    """guests/sbi linked with the payload, through guests/sbi/guest.mk's SBI_PAYLOAD."""
    out = build_dir() / "sbi"
    out.mkdir(exist_ok=True)
    gcc = cross_tool("gcc")
    run_tool(gcc, "-march=rv32imac_zicsr", "-mabi=ilp32", "-O2", "-Wall", "-Werror", "-ffreestanding", "-fno-builtin",
             "-nostdlib", "-static", "-T", PROGRAMS / "sbi_payload.ld", "-Wl,--no-relax", "-Wl,--build-id=none",
             "-Wl,--no-warn-rwx-segments", "-o", out / "payload.elf", PROGRAMS / "sbi_payload.c")  # fmt: skip
    run_tool(cross_tool("objcopy"), "-O", "binary", out / "payload.elf", out / "payload.bin")
    run_tool(find_tool("make"), "-s", "-C", ROOT / "guests", f"BUILD={out}/build", f"OUT={out}",
             f"SBI_PAYLOAD={out}/payload.bin", f"{out}/sbi.elf")  # fmt: skip
    return out / "sbi.elf"


@pytest.fixture(scope="module")
def on_qemu(firmware):
    return run_qemu(firmware, timeout=30)


def split(console: bytes) -> tuple[str, bytes]:
    """The console without the device tree's lines, and the tree they spell."""
    text = console.decode()
    dtb = bytes.fromhex("".join(line[5:] for line in text.splitlines() if line.startswith("dtb: ")))
    rest = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("dtb: "))
    return rest, dtb


def test_the_image_is_the_firmware_then_the_payload(firmware):
    headers = run_tool(cross_tool("readelf"), "-lhW", firmware)
    assert re.search(r"Entry point address:\s+0x80000000", headers)
    loads = re.findall(r"^\s+LOAD\s+\S+\s+(0x[0-9a-f]+)", headers, re.MULTILINE)
    assert loads == ["0x80000000", "0x80400000"]
    symbols = run_tool(cross_tool("nm"), firmware)
    assert re.search(r"^80400000 \w sbi_payload_start$", symbols, re.MULTILINE)


def test_sbi_calls_answer_as_the_spec_says_on_qemu(on_qemu):
    code, console = on_qemu
    rest, _ = split(console)
    assert code == 0, console[-500:]
    assert BANNER.match(rest), rest[:200]
    assert rest[BANNER.match(rest).end() :] == EXPECTED


def test_the_same_on_our_bare_machine(firmware, on_qemu):
    code, console = run_ours(firmware, timeout=120)
    assert (code, split(console)[0]) == (on_qemu[0], split(on_qemu[1])[0])


def test_the_same_under_the_vmm(firmware, on_qemu):
    code, console = run_under_vmm(firmware, timeout=240)
    assert (code, split(console)[0]) == (on_qemu[0], split(on_qemu[1])[0])


# With --sbi vmm (tuivmm/vmm/sbi_server.py) the VMM answers the payload's calls and no
# firmware runs: no banner, the VMM's own implementation id, and nothing at the
# firmware's place to protect (PMP is open over all of memory, and only the payload is
# loaded: RAM there reads zeros, so DBCN writes four NULs and the payload's load
# reads 0 with no fault).  Every other line is the firmware's.
SERVED_BY_THE_VMM = {
    "base: impl id: error 0, value 1953851766\n": "base: impl id: error 0, value 1953918317\n",
    "dbcn write from the firmware's memory: error -3, value 0\n":
        "\0\0\0\0dbcn write from the firmware's memory: error 0, value 4\n",
    "pmp: reading the firmware: scause 0x00000005, nothing read\n":
        "pmp: reading the firmware: scause 0x00000000, READ\n",
}  # fmt: skip


def test_the_vmm_serving_the_calls_itself_answers_as_the_firmware_does(firmware):
    """`tuivmm run --sbi vmm`: the same console as the firmware's, line by line, but for
    the lines where there is no firmware (SERVED_BY_THE_VMM)."""
    from tuivmm.vmm.sbi_server import IMPL_ID

    assert IMPL_ID == 1953918317
    code, console = run_under_vmm(firmware, timeout=240, extra=("--sbi", "vmm"))
    rest, dtb = split(console)
    assert code == 0, console[-500:]
    got = rest.splitlines(keepends=True)
    want = [SERVED_BY_THE_VMM.get(line, line) for line in EXPECTED.splitlines(keepends=True)]
    assert len(SERVED_BY_THE_VMM) == 3 and set(SERVED_BY_THE_VMM) <= set(EXPECTED.splitlines(keepends=True))
    for n, (line, expected) in enumerate(zip(got, want, strict=True)):
        assert line == expected, f"line {n + 1}"
    tree = unpack(dtb[:4] + struct.pack(">I", len(dtb)) + dtb[8:])
    assert "reserved-memory" not in [node.name for node in tree.children]  # nothing to keep Linux off


def test_with_the_vmm_serving_the_trap_log_names_each_call_and_nothing_enters_virtual_m_mode(firmware):
    """The same calls, in the same order, as the firmware's trap log names them (but for
    the lines of the device tree, shorter without the firmware's /reserved-memory, each
    a console_write); each one served by the VMM in one exit, none injected, and the
    guest never in virtual M-mode."""
    from tuivmm.vmm import Vmm
    from tuivmm.vmm import traplog as T

    runs = {}
    for run in ("firmware", "vmm", "vmm again"):
        vmm = Vmm()
        g = vmm.add_guest(firmware, disk=None, net=False, sbi=run.split()[0])
        events = []
        g.log.on_event = events.append
        vmm.run(max_rounds=20_000)
        assert g.halt == ("pass", 0), bytes(g.output)[-300:]
        runs[run] = (g, events)
    g, events = runs["vmm"]
    assert events == runs["vmm again"][1]  # deterministic: the same run, exit for exit, at the same times
    calls = [e for e in events if e.reason == T.ECALL]
    firmware_calls = [e.detail for e in runs["firmware"][1] if e.reason == T.ECALL and e.priv == 1]
    assert [e.detail for e in calls if e.detail != "sbi console_write"] == [
        call for call in firmware_calls if call != "sbi console_write"]  # fmt: skip
    firmware_lines = split(bytes(runs["firmware"][0].output))[0].count("\n")
    assert [e.detail for e in calls].count("sbi console_write") > firmware_lines
    assert len(calls) > 100 and all(e.action == T.SBI_SERVED and e.priv == 1 for e in calls)
    assert not [e for e in events if e.priv == 3]  # no exit, injection or interrupt in virtual M-mode
    assert [e.reason for e in events if e.action == T.INJECTED] == [T.INTERRUPT] * 3  # 2 timers, 1 IPI: to S
    assert [e for e in events if T.FILTER_BY_KEY["sbi"].match(e)] == calls
    assert g.log.total < runs["firmware"][0].log.total / 3  # one exit a call, not a handler's worth


def test_a_recording_of_the_vmm_serving_replays_alike_and_so_does_a_snapshot(firmware, tmp_path):
    """The mode is part of what a recording and a snapshot keep: the replay and the
    restored guest answer as the VMM, not as a firmware (which would print otherwise)."""
    log, snap = tmp_path / "session.log", tmp_path / "halted.snap"
    code, console = run_under_vmm(firmware, timeout=240, extra=("--sbi", "vmm", "--record", str(log), "--save",
                                                                 str(snap)))  # fmt: skip
    assert code == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    replay = subprocess.run([sys.executable, "-m", "tuivmm", "run", "--replay", str(log)], capture_output=True,
                            cwd=ROOT, env=env, timeout=240, check=False)  # fmt: skip
    assert replay.returncode == 0, replay.stderr.decode()
    assert replay.stdout.replace(b"[sbi] ", b"") == console
    from tuivmm.tools.snapshot import restore_guest
    from tuivmm.vmm import Vmm

    vmm = Vmm()
    guest = restore_guest(vmm, snap)
    assert (guest.sbi, guest.halt) == ("vmm", ("pass", 0))
    guest.reset("the test")
    assert (guest.vcpu.priv, guest.vcpu.pc) == (1, 0x8040_0000)  # booted again with no firmware
    vmm.run(max_rounds=20_000)
    assert guest.halt == ("pass", 0) and bytes(guest.output) == console * 2


def dts(tmp_path, dtb: bytes) -> str:
    """dtc's source form of `dtb`; it must read it."""
    (tmp_path / "tree.dtb").write_bytes(dtb)
    result = subprocess.run([find_tool("dtc"), "-I", "dtb", "-O", "dts", str(tmp_path / "tree.dtb")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


RESERVED = """\
	reserved-memory {
		#address-cells = <0x02>;
		#size-cells = <0x02>;
		ranges;

		mmode_resv0@80000000 {
			reg = <0x00 0x80000000 0x00 0x40000>;
			no-map;
		};
	};
"""


@pytest.mark.parametrize("where", ["qemu", "ours"])
def test_the_payloads_tree_reserves_the_firmware(where, firmware, on_qemu, tmp_path):
    console = on_qemu[1] if where == "qemu" else run_ours(firmware, timeout=120)[1]
    dtb = split(console)[1]
    total = struct.unpack_from(">I", dtb, 4)[0]
    assert total % 8 == 0 and total >= len(dtb)
    dtb = dtb[:4] + struct.pack(">I", len(dtb)) + dtb[8:]  # the dump ends with the strings block
    source = dts(tmp_path, dtb)
    assert RESERVED in source
    assert "memory@80000000 {" in source and 'stdout-path = "/soc/serial@10000000";' in source
    tree = unpack(dtb)
    assert tree.find("/reserved-memory/mmode_resv0@80000000").props == {
        "reg": cells(0, 0x8000_0000, 0, 0x4_0000), "no-map": b""}  # fmt: skip


def boot_with_tree(firmware, tmp_path, edit) -> Node:
    """Run the firmware on our board with the board's own tree changed by `edit`;
    the tree the payload got."""
    out = tmp_path / "board.dtb"
    result = subprocess.run([sys.executable, "-m", "tuivmm", "bare", "--dumpdtb", str(out), str(firmware)],
                            capture_output=True, cwd=ROOT, check=False,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    assert result.returncode == 0, result.stderr
    tree = unpack(out.read_bytes())
    edit(tree)
    (tmp_path / "mine.dtb").write_bytes(pack(tree))
    code, console = run_ours(firmware, extra=("--dtb", str(tmp_path / "mine.dtb")), timeout=120)
    assert code == 0
    rest, dtb = split(console)
    assert rest.endswith("srst: shutdown\n")
    dtb = dtb[:4] + struct.pack(">I", len(dtb)) + dtb[8:]
    dts(tmp_path, dtb)
    return unpack(dtb)


def test_an_existing_reserved_memory_node_gets_one_child_more(firmware, tmp_path):
    """A tree with /reserved-memory already (one cell each, say): the firmware adds
    its region there, in that node's cells, and keeps what was there."""

    def edit(tree):
        reserved = tree.add("reserved-memory", ranges=b"")
        reserved.set("#address-cells", cells(1)).set("#size-cells", cells(1))
        reserved.add("vendor@87000000", reg=cells(0x8700_0000, 0x1000), no_map=b"", compatible=string("x,y"))

    got = boot_with_tree(firmware, tmp_path, edit)
    assert [node.name for node in got.children].count("reserved-memory") == 1
    node = got.find("/reserved-memory")
    assert [child.name for child in node.children] == ["vendor@87000000", "mmode_resv0@80000000"]
    assert node.child("vendor@87000000").props["compatible"] == string("x,y")
    assert node.child("mmode_resv0@80000000").props == {"reg": cells(0x8000_0000, 0x4_0000), "no-map": b""}


def test_a_tree_that_reserves_the_firmware_already_is_left_as_it_is(firmware, tmp_path):
    def edit(tree):
        reserved = tree.add("reserved-memory", ranges=b"")
        reserved.set("#address-cells", cells(2)).set("#size-cells", cells(2))
        reserved.add("mmode_resv0@80000000", reg=cells(0, 0x8000_0000, 0, 0x4_0000), no_map=b"")
        expected.append(pack(tree))

    expected = []
    got = boot_with_tree(firmware, tmp_path, edit)
    assert pack(got) == expected[0]


def test_no_device_tree_is_a_clear_failure(firmware):
    code, console = run_ours(firmware, extra=("--no-dtb",), timeout=60)
    assert console == b"tuivmm sbi: no device tree at a1 (0): a kernel needs one; stopping\n"
    assert code == 1


def test_the_vmms_trap_log_names_each_sbi_call_the_payload_makes(firmware):
    """Under the VMM each ECALL from the payload (virtual S-mode) goes to our firmware in
    virtual M-mode; the trap log names it from a7/a6, in the order the payload calls."""
    from collections import Counter

    from tuivmm.vmm import Vmm
    from tuivmm.vmm import traplog as T

    vmm = Vmm()
    g = vmm.add_guest(firmware, disk=None, net=False)
    calls = []
    g.log.on_event = lambda e: calls.append(e.detail) if e.reason == T.ECALL and e.priv == 1 else None
    vmm.run(max_rounds=20_000)
    assert g.halt == ("pass", 0), bytes(g.output)[-300:]
    assert all(call.startswith("sbi ") for call in calls)
    names = [call.removeprefix("sbi ") for call in calls]
    count = Counter(names)
    names = [name for name in names if not name.startswith("console_")]  # it prints with dbcn
    assert names[:3] == ["get_spec_version", "get_impl_id", "get_impl_version"]
    assert names[3:16] == ["probe_extension"] * 13
    assert names[16:21] == ["get_mvendorid", "get_marchid", "get_mimpid", "base fid 99", "eid 0x12345678 fid 0"]
    assert count["console_putchar"] == len("legacy putchar\n")
    assert count["console_getchar"] == 1 and count["console_write_byte"] >= 1 and count["console_write"] >= 1
    assert count["set_timer"] >= 2 and count["set_timer (legacy)"] >= 1
    assert count["send_ipi"] == 2 and count["remote_hfence_gvma_vmid"] == 1
    assert count["hart_get_status"] == 2 and count["hart_start"] == 1
    assert names[-2:] == ["system_reset", "system_reset"]  # a bad type, then the shutdown
    # The filter the dashboard's trap log offers picks exactly these.
    chosen = [e.detail for e in g.log.events if T.FILTER_BY_KEY["sbi"].match(e)]
    assert chosen == calls[-len(chosen) :]
