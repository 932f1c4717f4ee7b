from machine.devices.finisher import Finisher


def make_finisher():
    halts = []
    return Finisher(lambda reason, code: halts.append((reason, code))), halts


def test_write_of_5555_powers_off_with_pass():
    finisher, halts = make_finisher()
    finisher.write(0, 4, 0x5555)
    assert halts == [("pass", 0)]


def test_write_of_3333_fails_with_the_code_in_the_high_half():
    finisher, halts = make_finisher()
    finisher.write(0, 4, (42 << 16) | 0x3333)
    assert halts == [("fail", 42)]


def test_write_of_7777_asks_for_reset():
    finisher, halts = make_finisher()
    finisher.write(0, 4, 0x7777)
    assert halts == [("reset", 0)]


def test_other_values_are_ignored():
    finisher, halts = make_finisher()
    for value in (0, 1, 0x1234, 0x5556, 0x3333_0000):
        finisher.write(0, 4, value)
    assert halts == []


def test_reads_return_zero():
    finisher, _ = make_finisher()
    finisher.write(0, 4, 0x1234)
    assert finisher.read(0, 4) == 0
