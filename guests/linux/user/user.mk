# linux/user: the Linux guest's userland, our own: one multi-call program,
# $(USER_OUT)/box (init, sh and every command, chosen by the name it is run
# under), and the gen_init_cpio list that makes the initramfs of it.
#
#   make build/linux/initramfs.list   build box and write the list
#   make build/linux/user/box         build box only
#
# Included by linux/guest.mk (from guests/Makefile, run in guests/).  No C
# library: our own runtime (start.S, sys.c, lib.c) and the kernel's UAPI headers
# ($(LINUX_HDRS), from `make headers_install`).  Debian's riscv64-linux-gnu-gcc
# compiles for RV32 with -march/-mabi; it has no ilp32 libgcc, so we link none
# (lib.c divides 64-bit numbers itself).

USER_SRC  := linux/user
USER_OUT  := $(LINUX_BUILD)/user
USER_CC   := $(LINUX_CROSS)gcc
USER_ARCH := -march=rv32imac -mabi=ilp32
# -ffreestanding: no C library to assume; gcc's own stdarg.h, stddef.h, stdint.h
# (-isystem its include directory) and the kernel's headers, nothing from the host.
# (`=`, not `:=`: gcc is asked for its directory only when compiling, so that
# building the other guests does not need this compiler.)
USER_CFLAGS = $(USER_ARCH) -Os -Wall -Wextra -Werror -ffreestanding -fno-pic \
    -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
    -ffunction-sections -fdata-sections -nostdinc -I$(USER_SRC)/include \
    -I$(LINUX_HDRS)/include -isystem $(shell $(USER_CC) -print-file-name=include) \
    -ffile-prefix-map=$(CURDIR)=guests
# Static, no start files, no libraries, no build id (reproducible), unused
# sections dropped.
USER_LDFLAGS := $(USER_ARCH) -static -no-pie -nostdlib -nostartfiles \
    -Wl,--build-id=none -Wl,--gc-sections

USER_SRCS := $(sort $(wildcard $(USER_SRC)/*.c $(USER_SRC)/*.S))
USER_OBJS := $(patsubst $(USER_SRC)/%,$(USER_OUT)/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard $(USER_SRC)/*.h $(USER_SRC)/include/*/*.h)

# The commands: a link /bin/NAME -> box for each (box.c's table lists the same).
USER_COMMANDS := sh echo cat ls rm mkdir rmdir ps kill sleep uname dmesg free \
    uptime mount umount df sync poweroff reboot ping udp

$(USER_OUT)/%.c.o: $(USER_SRC)/%.c $(USER_HDRS) $(LINUX_HDRS)/.installed $(USER_SRC)/user.mk
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -c -o $@ $<

$(USER_OUT)/%.S.o: $(USER_SRC)/%.S $(USER_SRC)/user.mk
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_ARCH) -c -o $@ $<

# The file's time is fixed too: the cpio records it.
$(USER_OUT)/box: $(USER_OBJS)
	$(USER_CC) $(USER_LDFLAGS) -o $@ $(USER_OBJS)
	touch -d '$(LINUX_STAMP)' $@

# gen_init_cpio's list (usr/gen_init_cpio.c in the kernel): one entry a line,
#   dir NAME MODE UID GID
#   nod NAME MODE UID GID c|b MAJOR MINOR
#   file NAME SOURCE MODE UID GID      (SOURCE: a path on the build machine)
#   slink NAME TARGET MODE UID GID
# The console's device nodes are there from the start: the kernel opens
# /dev/console for init before anything is mounted (devtmpfs then covers /dev).
$(LINUX_BUILD)/initramfs.list: $(USER_OUT)/box $(USER_SRC)/user.mk
	@mkdir -p $(dir $@)
	{ for d in /bin /dev /mnt /proc /root /sys; do echo "dir $$d 0755 0 0"; done; \
	  echo "dir /tmp 1777 0 0"; \
	  echo "nod /dev/console 0600 0 0 c 5 1"; \
	  echo "nod /dev/ttyS0 0600 0 0 c 4 64"; \
	  echo "file /bin/box $(abspath $(USER_OUT)/box) 0755 0 0"; \
	  echo "slink /init /bin/box 0777 0 0"; \
	  for c in $(USER_COMMANDS); do echo "slink /bin/$$c box 0777 0 0"; done; \
	} > $@.tmp
	mv $@.tmp $@
