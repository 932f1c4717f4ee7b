# bench: the compiled-code benchmark programs of bench/mips.py, not guests of the
# catalogue (`tuivmm guests` and tuivmm/images/ do not have them).  Each program
# bench/NAME.c becomes ../bench/images/NAME.elf, linked by bench/bench.ld with the
# compute guest's start-up code and UART output (compute/entry.S, compute/uart.c:
# they are all a program that runs in M-mode and prints its answer needs); `make`
# builds them and `make check` checks them with the guests.
#
#   make BENCH_OUT=/tmp/b BUILD=/tmp/b/build BENCH_DEFS="-DFIB_N=20" /tmp/b/fib.elf
#                   a variant with other sizes (the tests build small ones): a build
#                   directory of its own, as make does not see a change of -D flags

BENCH_PROGRAMS := fib qsort sieve
BENCH_OUT      ?= ../bench/images
BENCH_DEFS     ?=
BENCH_COMMON   := $(BUILD)/compute/entry.S.o $(BUILD)/compute/uart.c.o

# More specific than the generic $(BUILD)/%.c.o, so it wins for bench/*.c.
$(BUILD)/bench/%.c.o: bench/%.c bench/bench.h compute/uart.h include/memlayout.h Makefile bench/guest.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BENCH_DEFS) -c -o $@ $<

$(BENCH_OUT)/%.elf: $(BUILD)/bench/%.c.o $(BENCH_COMMON) bench/bench.ld | $(BENCH_OUT)
	$(CC) $(LDFLAGS) -T bench/bench.ld -o $@ $(BENCH_COMMON) $<

$(BENCH_OUT):
	mkdir -p $@

all: $(BENCH_PROGRAMS:%=$(BENCH_OUT)/%.elf)
.PRECIOUS: $(BUILD)/bench/%.c.o $(BENCH_COMMON)
