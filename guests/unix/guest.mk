# unix's user programs: each user/NAME.c becomes its own ELF, linked at 0x1000
# with ulib.c and usys.S, and user/programs.S embeds them all into the kernel.
# Everything built goes under $(BUILD)/unix/user/.

UNIX_PROGRAMS := sh echo ps kill mem uptime bench fault spin sleep ls cat write rm ping udp heap syscalls
UNIX_UBUILD   := $(BUILD)/unix/user
UNIX_ULIB     := $(UNIX_UBUILD)/ulib.c.o $(UNIX_UBUILD)/usys.S.o
UNIX_UCFLAGS  := $(ARCH) -O2 -Wall -Wextra -Werror -ffreestanding -fno-builtin -fno-pic \
                 -fno-stack-protector -mcmodel=medany -nostdinc $(REPRO)

$(UNIX_UBUILD)/%.c.o: unix/user/%.c unix/user/user.h Makefile unix/guest.mk
	@mkdir -p $(dir $@)
	$(CC) $(UNIX_UCFLAGS) -c -o $@ $<

$(UNIX_UBUILD)/usys.S.o: unix/user/usys.S unix/syscall.h
	@mkdir -p $(dir $@)
	$(CC) $(ARCH) -c -o $@ $<

# Stripped (-s): the kernel carries only what exec needs.
$(UNIX_UBUILD)/%.elf: $(UNIX_UBUILD)/%.c.o $(UNIX_ULIB) unix/user/user.ld
	$(CC) $(LDFLAGS) -s -T unix/user/user.ld -o $@ $< $(UNIX_ULIB)

$(UNIX_UBUILD)/programs.o: unix/user/programs.S $(UNIX_PROGRAMS:%=$(UNIX_UBUILD)/%.elf)
	$(CC) $(ARCH) -I $(UNIX_UBUILD) -c -o $@ $<

EXTRA_OBJS_unix := $(UNIX_UBUILD)/programs.o

# Keep the objects and ELF files make would otherwise delete as intermediates.
.PRECIOUS: $(UNIX_UBUILD)/%.c.o $(UNIX_UBUILD)/%.elf

# The kernel's own headers (the generic rule knows only include/*.h).
$(patsubst %,$(BUILD)/%.o,$(wildcard unix/*.c unix/*.S)): $(wildcard unix/*.h)
