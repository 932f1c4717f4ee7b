"""UDP in the unix guest: two machines on one wire talk to each other, and a
machine talks to this test, which plays the far end of the wire with its own
Python Ethernet/IPv4/UDP code (so the guest's checksums and framing are checked
by an implementation it shares nothing with)."""

from __future__ import annotations

import struct
import time

from test_guest_unix import PROMPT, UNIX, _step, _wire_two_machines, command_output


def converse(boards, scripts, limit: float = 90) -> dict:
    """Run boards a slice at a time in turn, typing each script's lines into its
    board's shell.  A script is a list of (line, ready) pairs: the line is typed at
    the next prompt once ready(consoles) is true, consoles being every board's
    output so far.  Returns {board index: halt kind} once all have powered off."""
    typed = [0] * len(boards)
    halted: dict[int, str] = {}
    started = time.monotonic()
    while len(halted) < len(boards) and time.monotonic() - started < limit:
        consoles = [b.output.decode(errors="replace") for b in boards]
        for i, board in enumerate(boards):
            if i in halted:
                continue
            script = scripts[i]
            if script and consoles[i].count(PROMPT) > typed[i] and script[0][1](consoles):
                board.uart.feed(script.pop(0)[0].encode())
                typed[i] += 1
            halt = _step(board)
            if halt:
                halted[i] = halt
    return halted


def always(_consoles) -> bool:
    return True


def test_two_machines_exchange_datagrams_and_an_echo_server_answers():
    a, b = _wire_two_machines()
    scripts = [
        [   # A: two datagrams to B's listener, then an echo server in the background
            ("udp send 10.0.0.2 5000 hello over udp\n", lambda c: "listening on port 5000" in c[1]),
            ("udp send 10.0.0.2 5000 second\n", always),
            ("udp echo 7 &\n", always),
            ("shutdown\n", lambda c: "udp: no reply" in c[1]),
        ],
        [   # B: listen for two datagrams, then ask A's echo server, then a silent port
            ("udp listen 5000 2\n", always),
            ("udp ask 10.0.0.1 7 are you there?\n", lambda c: "echoing on port 7" in c[0]),
            ("udp ask 10.0.0.1 8 anyone\n", always),
            ("shutdown\n", always),
        ],
    ]
    halted = converse([a, b], scripts)
    console_a, console_b = a.output.decode(), b.output.decode()
    assert halted == {0: "pass", 1: "pass"}, (console_a, console_b)
    # A's sends go from the first ephemeral port; the second `udp` process gets it
    # again because the first released it when it exited.
    assert command_output(console_b, "udp listen 5000 2") == (
        "udp: listening on port 5000\n"
        "from 10.0.0.1:49152 (14 bytes): hello over udp\n"
        "from 10.0.0.1:49152 (6 bytes): second\n"
    )
    assert command_output(console_b, "udp ask 10.0.0.1 7 are you there?") == (
        "reply from 10.0.0.1:7 (14 bytes): are you there?\n"
    )
    assert "echoed 10.0.0.2:49152 (14 bytes): are you there?\n" in console_a
    assert command_output(console_b, "udp ask 10.0.0.1 8 anyone") == "udp: no reply from 10.0.0.1:8\n"
    assert command_output(console_a, "udp send 10.0.0.2 5000 second") == ""


# --- the far end of the wire, in Python ---------------------------------------

GUEST_MAC = bytes.fromhex("525400000001")
GUEST_IP = bytes([10, 0, 0, 1])
OUR_MAC = bytes.fromhex("525400000063")
OUR_IP = bytes([10, 0, 0, 99])


def inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(sport: int, dport: int, payload: bytes, *, spoil_checksum: bool = False) -> bytes:
    length = 8 + len(payload)
    pseudo = OUR_IP + GUEST_IP + struct.pack("!BBH", 0, 17, length)
    checksum = inet_checksum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    if spoil_checksum:
        checksum ^= 0x0101
    udp = struct.pack("!HHHH", sport, dport, length, checksum) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, OUR_IP, GUEST_IP)
    header = header[:10] + struct.pack("!H", inet_checksum(header)) + header[12:]
    return GUEST_MAC + OUR_MAC + b"\x08\x00" + header + udp


class FarEnd:
    """A NIC for the far end of the wire: records frames, answers ARP for OUR_IP."""

    def __init__(self, end) -> None:
        self.end = end
        self.received: list[bytes] = []
        end.attach(self)

    def deliver(self, frame: bytes) -> None:
        self.received.append(frame)
        if frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x01" and frame[38:42] == OUR_IP:
            reply = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, OUR_MAC, OUR_IP, frame[22:28], frame[28:32])
            self.send(frame[6:12] + OUR_MAC + b"\x08\x06" + reply)

    def send(self, frame: bytes) -> None:
        self.end.send(frame)

    def udp_payloads(self) -> list[tuple[int, int, bytes]]:
        """(source port, destination port, payload) of every valid UDP datagram
        the guest sent to OUR_IP; asserts the IPv4 and UDP checksums hold."""
        found = []
        for frame in self.received:
            if frame[12:14] != b"\x08\x00" or frame[23] != 17:
                continue
            ip = frame[14:34]
            assert inet_checksum(ip) == 0, frame.hex()
            assert ip[16:20] == OUR_IP and ip[12:16] == GUEST_IP
            total = struct.unpack("!H", ip[2:4])[0]
            udp = frame[34 : 14 + total]
            sport, dport, length, checksum = struct.unpack("!HHHH", udp[:8])
            assert length == len(udp) and checksum != 0
            pseudo = GUEST_IP + OUR_IP + struct.pack("!BBH", 0, 17, length)
            assert inet_checksum(pseudo + udp) == 0, frame.hex()
            found.append((sport, dport, udp[8:]))
        return found


def test_datagrams_from_a_foreign_stack_are_checked_and_delivered_and_replies_are_well_formed():
    from machine.board import Board
    from machine.devices.netwire import Wire

    near, far_end = Wire.pair()
    far = FarEnd(far_end)
    board = Board(net=near, mac=GUEST_MAC)
    board.load(UNIX)
    injected = False

    def listening(consoles) -> bool:
        return "echoing on port 7" in consoles[0]

    scripts = [[("udp echo 7 &\n", always),
                ("udp send 10.0.0.99 4242 from the guest\n", listening),
                ("shutdown\n", lambda c: c[0].count("echoed") >= 2)]]
    # Drive by hand so the test can inject frames once the echo server listens.
    typed, halt, started = 0, None, time.monotonic()
    while halt is None and time.monotonic() - started < 60:
        console = board.output.decode(errors="replace")
        if scripts[0] and console.count(PROMPT) > typed and scripts[0][0][1]([console]):
            board.uart.feed(scripts[0].pop(0)[0].encode())
            typed += 1
        if listening([console]) and not injected:
            injected = True
            far.send(udp_frame(1234, 7, b"spoiled", spoil_checksum=True))   # dropped
            far.send(udp_frame(1234, 9, b"no one listens"))                  # dropped
            far.send(udp_frame(1234, 7, b"ping one"))
            far.send(udp_frame(1235, 7, b""))                                # empty is fine
        halt = _step(board)
    console = board.output.decode()
    assert halt == "pass", console
    assert "echoed 10.0.0.99:1234 (8 bytes): ping one\n" in console
    assert "echoed 10.0.0.99:1235 (0 bytes): \n" in console
    assert "spoiled" not in console and "no one listens" not in console
    datagrams = far.udp_payloads()
    assert (7, 1234, b"ping one") in datagrams
    assert (7, 1235, b"") in datagrams
    assert (49152, 4242, b"from the guest") in datagrams
    assert len(datagrams) == 3


def test_udp_usage_errors_and_no_network_card_are_reported_by_the_shell():
    from test_guest_unix import session

    code, console = session("udp\nudp listen 0\nudp send 10.0.0 7 x\nudp listen 7\nshutdown\n")
    assert code == 0
    usage = "usage: udp send IP PORT TEXT... | udp ask IP PORT TEXT... |\n       udp listen PORT [COUNT] | udp echo PORT\n"
    assert command_output(console, "udp") == usage
    assert command_output(console, "udp listen 0") == usage
    assert command_output(console, "udp send 10.0.0 7 x") == usage
    assert command_output(console, "udp listen 7") == "udp: no network card\n"


def test_two_listeners_cannot_share_a_port_and_the_port_is_free_once_its_owner_dies():
    a, b = _wire_two_machines()
    scripts = [[("udp listen 6000 &\n", always),
                ("udp listen 6000\n", lambda c: "listening on port 6000" in c[0]),
                ("kill 2\n", always), ("sleep 5\n", always), ("udp listen 6000 1\n", always),
                ("shutdown\n", always)],
               [("udp send 10.0.0.1 6000 after the kill\n", lambda c: c[0].count("listening on port 6000") == 2),
                ("shutdown\n", always)]]
    halted = converse([a, b], scripts)
    console_a = a.output.decode()
    assert halted == {0: "pass", 1: "pass"}, (console_a, b.output.decode())
    # (the background listener's first line lands after the prompt, so match lines)
    assert "udp listen 6000\nudp: port 6000 is in use\n" in console_a
    assert "from 10.0.0.2:49152 (14 bytes): after the kill\n" in console_a


def test_heap_grows_with_sbrk_and_gives_every_page_back():
    from test_guest_unix import session

    code, console = session("heap 64\nheap 0\nheap 999999\nshutdown\n")
    assert code == 0
    line = command_output(console, "heap 64")
    # "heap: 64 KiB at 0xADDR checked; free pages B -> D -> A"
    words = line.split()
    assert words[:4] == ["heap:", "64", "KiB", "at"] and words[5] == "checked;", line
    before, during, after = int(words[8]), int(words[10]), int(words[12])
    assert before - during >= 16          # 64 KiB is 16 pages, plus page-table pages
    assert after == before
    assert command_output(console, "heap 0") == "usage: heap KIB\n"
    assert command_output(console, "heap 999999") == "heap: sbrk(999999 KiB) failed\n"
