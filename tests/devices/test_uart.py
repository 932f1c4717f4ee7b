from machine.devices.uart import POLLS_FOR_INPUT, Uart16550

RBR, THR, DLL, IER, DLM, IIR, FCR, LCR, MCR, LSR, MSR, SCR = 0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7


def make_uart(line):
    uart = Uart16550(line)
    sent = []
    uart.on_output = sent.append
    uart.write(FCR, 1, 0x07)  # FIFOs on and cleared, as drivers do at init
    return uart, sent


def test_transmitted_bytes_reach_on_output(line):
    uart, sent = make_uart(line)
    for byte in b"hi\n":
        uart.write(THR, 1, byte)
    assert b"".join(sent) == b"hi\n"


def test_transmitter_is_always_ready(line):
    uart, _ = make_uart(line)
    uart.write(THR, 1, ord("x"))
    assert uart.read(LSR, 1) & 0x60 == 0x60


def test_received_bytes_come_out_in_order(line):
    uart, _ = make_uart(line)
    uart.feed(b"abc")
    assert bytes(uart.read(RBR, 1) for _ in range(3)) == b"abc"


def test_data_ready_follows_the_receive_fifo(line):
    uart, _ = make_uart(line)
    assert uart.read(LSR, 1) & 1 == 0
    uart.feed(b"k")
    assert uart.read(LSR, 1) & 1 == 1
    uart.read(RBR, 1)
    assert uart.read(LSR, 1) & 1 == 0


def test_rx_pending_counts_unread_bytes(line):
    uart, _ = make_uart(line)
    uart.feed(b"xyz")
    uart.read(RBR, 1)
    assert uart.rx_pending() == 2


def test_a_driver_reading_the_line_status_again_and_again_polls_for_input(line):
    uart, _ = make_uart(line)
    for _ in range(POLLS_FOR_INPUT - 1):
        uart.read(LSR, 1)
    # A few reads are not a poll: a driver setting up the port (Linux's 8250) reads it
    # a handful of times, and a line handed to it then would be lost.
    assert not uart.polled_for_input()
    uart.read(RBR, 1)  # the empty receiver counts as a look for input too
    assert uart.polled_for_input()
    uart.write(THR, 1, ord("x"))  # it sent a byte: it was waiting to send
    assert not uart.polled_for_input()


def test_a_driver_with_the_receive_interrupt_on_is_not_polling_for_input(line):
    # It drains the FIFO in its interrupt handler (line status, byte, line status ...)
    # and waits for input asleep in WFI.
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x01)
    uart.feed(b"ab")
    while uart.read(LSR, 1) & 1:
        uart.read(RBR, 1)
    assert not uart.polled_for_input()


def test_receive_interrupt_raised_when_enabled_and_lowered_when_drained(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x01)
    uart.feed(b"ab")
    assert line.level
    assert uart.read(IIR, 1) == 0xC4
    uart.read(RBR, 1)
    assert line.level
    uart.read(RBR, 1)
    assert not line.level
    assert uart.read(IIR, 1) == 0xC1


def test_receive_interrupt_stays_low_when_not_enabled(line):
    uart, _ = make_uart(line)
    uart.feed(b"a")
    assert not line.level
    assert uart.read(IIR, 1) == 0xC1


def test_enabling_receive_interrupt_with_data_waiting_raises_it(line):
    uart, _ = make_uart(line)
    uart.feed(b"a")
    uart.write(IER, 1, 0x01)
    assert line.level


def test_irq_is_called_only_on_changes(line):
    uart, _ = make_uart(line)
    line.changes.clear()
    uart.write(IER, 1, 0x01)
    uart.feed(b"a")
    uart.feed(b"b")
    uart.read(RBR, 1)
    uart.read(RBR, 1)
    assert line.changes == [True, False]


def test_enabling_thr_empty_interrupt_raises_it_at_once(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x02)
    assert line.level
    assert uart.read(IIR, 1) == 0xC2


def test_reading_iir_acknowledges_thr_empty(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x02)
    uart.read(IIR, 1)
    assert not line.level
    assert uart.read(IIR, 1) == 0xC1


def test_writing_thr_raises_thr_empty_again(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x02)
    uart.read(IIR, 1)
    uart.write(THR, 1, ord("z"))
    assert line.level
    assert uart.read(IIR, 1) == 0xC2


def test_disabling_thr_interrupt_lowers_the_line(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x02)
    uart.write(IER, 1, 0x00)
    assert not line.level


def test_receive_interrupt_outranks_thr_empty(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x03)
    uart.feed(b"a")
    assert uart.read(IIR, 1) == 0xC4
    uart.read(RBR, 1)
    assert uart.read(IIR, 1) == 0xC2


def test_iir_without_fifos_has_no_fifo_bits(line):
    uart = Uart16550(line)
    assert uart.read(IIR, 1) == 0x01


def test_fcr_clear_receive_empties_the_fifo(line):
    uart, _ = make_uart(line)
    uart.feed(b"stale")
    uart.write(FCR, 1, 0x03)
    assert uart.rx_pending() == 0


def test_dlab_exposes_the_divisor_latch(line):
    uart, sent = make_uart(line)
    uart.write(IER, 1, 0x01)
    uart.write(LCR, 1, 0x83)
    uart.write(DLL, 1, 0x03)
    uart.write(DLM, 1, 0x00)
    assert uart.read(DLL, 1) == 0x03
    assert uart.read(DLM, 1) == 0x00
    uart.write(LCR, 1, 0x03)
    assert uart.read(IER, 1) == 0x01
    assert sent == []


def test_dlab_hides_the_receive_buffer(line):
    uart, _ = make_uart(line)
    uart.feed(b"q")
    uart.write(LCR, 1, 0x80)
    uart.write(DLL, 1, 0x0C)
    assert uart.read(RBR, 1) == 0x0C
    uart.write(LCR, 1, 0x00)
    assert uart.read(RBR, 1) == ord("q")


def test_scratch_register_holds_a_byte(line):
    uart, _ = make_uart(line)
    uart.write(SCR, 1, 0x5A)
    assert uart.read(SCR, 1) == 0x5A


def test_loopback_returns_transmitted_bytes_to_the_receiver(line):
    uart, sent = make_uart(line)
    uart.write(MCR, 1, 0x10)
    uart.write(THR, 1, 0x41)
    assert sent == []
    assert uart.read(RBR, 1) == 0x41


def test_modem_status_reports_a_terminal_present(line):
    uart, _ = make_uart(line)
    assert uart.read(MSR, 1) == 0xB0


def test_reset_forgets_input_and_lowers_the_line(line):
    uart, _ = make_uart(line)
    uart.write(IER, 1, 0x01)
    uart.feed(b"abc")
    uart.reset()
    assert uart.rx_pending() == 0
    assert not line.level
    assert uart.read(IER, 1) == 0
