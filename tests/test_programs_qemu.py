"""The C test programs on QEMU, whose console output is the oracle for ours.

The expected text is worked out here in Python, from the C semantics and the
RISC-V spec, not copied from a run.
"""

from toolchain import run_qemu

MASK = 0xFFFF_FFFF


def c_div(a: int, b: int) -> tuple[int, int]:
    """C's / and %: the quotient rounds toward zero."""
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    return q, a - b * q


def mul_high(a: int, b: int) -> str:
    return f"{((a * b) >> 32) & MASK:x}"


def signed(value: int) -> int:
    value &= MASK
    return value - (1 << 32) if value & 0x8000_0000 else value


def expected_hello_output() -> bytes:
    lines = ["Hello from a RISC-V test program!",
             "decimal: 0 7 -1 2147483647 -2147483648 4000000000",
             "hex: 0 deadbeef 0000002a [  cafe]",
             "padded: [   42] [  -42] [-0042]",
             "multiplication table:"]
    lines += ["".join(f"{i * j:3d}" for j in range(1, 10)) for i in range(1, 10)]
    lines.append("division:")
    for a, b in [(17, 5), (-17, 5), (17, -5), (-17, -5), (1000000, 7)]:
        q, r = c_div(a, b)
        lines.append(f"  {a} / {b} = {q} rem {r}")
    # Unprivileged spec, M extension: x/0 = -1 (all ones unsigned), x%0 = x;
    # INT_MIN / -1 = INT_MIN with remainder 0.
    lines.append("  div by zero: -1 ffffffff 1234 1234")
    lines.append("  overflow: -2147483648 0")
    lines.append(f"  mulh: {mul_high(0x12345678, signed(0x9ABCDEF0))} "
                 f"{mul_high(0x12345678, 0x9ABCDEF0)} {mul_high(-2, 0x8000_0000)}")
    vowels = sum(c in "aeiouAEIOU" for c in "Virtual Machine Monitor")
    lines.append(f"strings: {'tuivmm'[::-1]} {'hello, world'.upper()} vowels={vowels} len=12")

    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    lines.append(f"fib(20) = {fib(20)}")
    # counter: 10, +5 (amoadd), swap 100, CAS 100->200, amomax -5 (stays 200),
    # amominu 0xfffffffb (stays 200), |0x1000, &0x10ff, ^0xff.
    final = ((200 | 0x1000) & 0x10FF) ^ 0xFF
    lines.append(f"atomics: 10 15 1 200 200 {final:x}")
    primes = [p * 3 for p in (2, 3, 5, 7, 11, 13, 17, 19)]
    lines.append(f"data: primes*3 sum={sum(primes)} last={primes[-1]}")
    lines.append("bye")
    return "".join(line + "\n" for line in lines).encode()


def test_hello_on_qemu_prints_the_expected_console_and_powers_off_with_success(hello_elf):
    exit_code, output = run_qemu(hello_elf, timeout=30)
    assert output.decode() == expected_hello_output().decode()
    assert exit_code == 0
