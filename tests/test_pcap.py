"""`tuivmm run --pcap FILE`: the virtual switch's frames in pcap format, read back with
Debian's tshark (installed by .ci/run)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tuivmm.tools.pcap import PcapError, PcapWriter, global_header, record
from tuivmm.vmm.switch import VirtualSwitch

ROOT = Path(__file__).resolve().parents[1]
PING = b"ping 10.0.0.2\n"


def tuivmm(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tuivmm", *args], input=stdin, cwd=ROOT, env=env,
                          capture_output=True, timeout=180, check=False)  # fmt: skip


def tshark(capture: Path, *fields: str, where: str = "") -> list[list[str]]:
    """tshark's reading of the capture: one list of field values per frame."""
    args = ["tshark", "-r", str(capture), "-T", "fields", "-E", "separator=|"]
    if where:
        args += ["-Y", where]
    for field in fields:
        args += ["-e", field]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [line.split("|") for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def ping_capture(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    capture = tmp_path_factory.mktemp("pcap") / "ping.pcap"
    result = tuivmm("run", "unix", "unix", "--pcap", str(capture), "--max-insns", "6000000", stdin=PING)
    return capture, result


def test_tshark_finds_the_echo_requests_and_replies_of_a_ping_between_two_unix_guests(ping_capture):
    capture, result = ping_capture
    assert b"[unix] 3 packets transmitted, 3 received" in result.stdout, result.stdout[-2000:]
    frames = tshark(capture, "ip.src", "ip.dst", "icmp.type", "icmp.seq", where="icmp")
    assert frames == [
        ["10.0.0.1", "10.0.0.2", "8", "1"], ["10.0.0.2", "10.0.0.1", "0", "1"],
        ["10.0.0.1", "10.0.0.2", "8", "2"], ["10.0.0.2", "10.0.0.1", "0", "2"],
        ["10.0.0.1", "10.0.0.2", "8", "3"], ["10.0.0.2", "10.0.0.1", "0", "3"],
    ]  # fmt: skip
    # Before the first echo request, unix-1 asked for unix-2's MAC and got it.
    arp = tshark(capture, "eth.src", "eth.dst", "arp.opcode", where="arp")
    assert arp[:2] == [["52:54:00:00:00:01", "ff:ff:ff:ff:ff:ff", "1"], ["52:54:00:00:00:02", "52:54:00:00:00:01", "2"]]


def test_timestamps_are_the_senders_virtual_time(ping_capture):
    capture, _ = ping_capture
    frames = tshark(capture, "ip.src", "frame.time_epoch", "icmp.type", where="icmp")
    requests = [float(t) for src, t, kind in frames if kind == "8"]
    # unix pings once a second of its own virtual time (its timer: 100 Hz ticks), so the
    # requests are about 10 ms of virtual time apart -- the guest's clock, not the host's.
    gaps = [b - a for a, b in zip(requests, requests[1:])]
    assert all(0.005 < gap < 1.5 for gap in gaps), gaps
    assert requests[0] < 60  # seconds since the guest booted, not since 1970


def test_the_same_session_gives_the_same_capture_byte_for_byte(ping_capture, tmp_path):
    capture, _ = ping_capture
    again = tmp_path / "again.pcap"
    tuivmm("run", "unix", "unix", "--pcap", str(again), "--max-insns", "6000000", stdin=PING)
    assert again.read_bytes() == capture.read_bytes()


def test_pcap_into_a_missing_directory_is_a_one_line_error(tmp_path):
    result = tuivmm("run", "hello", "--pcap", str(tmp_path / "no" / "such" / "dir.pcap"))
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [f"tuivmm: {tmp_path}/no/such/dir.pcap: No such file or directory"]


def test_pcap_with_no_net_is_refused(tmp_path):
    result = tuivmm("run", "hello", "--no-net", "--pcap", str(tmp_path / "x.pcap"))
    assert result.returncode == 2
    assert "--no-net" in result.stderr.decode() and len(result.stderr.decode().splitlines()) == 1
    assert not (tmp_path / "x.pcap").exists()


# --- the writer -----------------------------------------------------------------------


def test_records_carry_virtual_time_and_lengths():
    frame = bytes(range(60))
    assert record(25_000_003, frame) == struct.pack("<IIII", 2, 500_000, 60, 60) + frame
    assert global_header() == struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def test_the_capture_appears_only_when_closed_and_an_old_file_stays_until_then(tmp_path):
    path = tmp_path / "cap.pcap"
    path.write_bytes(b"an older capture")
    switch = VirtualSwitch()
    a, b = switch.port("a"), switch.port("b")
    writer = PcapWriter(path, switch, clock=lambda port: 10_000_000 if port is a else 20_000_000)
    frame = bytes.fromhex("ffffffffffff525400000001") + b"\x08\x06" + bytes(46)
    a.send(frame)
    b.send(frame[:6] + bytes.fromhex("525400000002") + frame[12:])
    assert path.read_bytes() == b"an older capture"
    writer.close()
    data = path.read_bytes()
    assert data[:24] == global_header()
    assert data[24:40] == struct.pack("<IIII", 1, 0, 60, 60) and data[40:100] == frame
    assert data[100:116] == struct.pack("<IIII", 2, 0, 60, 60)
    assert len(data) == 24 + 2 * (16 + 60)
    assert [p.name for p in tmp_path.iterdir()] == ["cap.pcap"]  # no temporary file left
    assert switch.on_frame is None
    a.send(frame)  # after close nothing more is written
    assert path.read_bytes() == data


def test_a_write_failure_keeps_nothing_and_says_so(tmp_path, monkeypatch):
    path = tmp_path / "cap.pcap"
    switch = VirtualSwitch()
    port = switch.port("a")
    writer = PcapWriter(path, switch, clock=lambda port: 0)

    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def close(self):
            pass

    writer._file = Full()
    port.send(bytes(60))  # the guest goes on; the capture is abandoned
    with pytest.raises(PcapError, match="could not be written"):
        writer.close()
    assert list(tmp_path.iterdir()) == []
