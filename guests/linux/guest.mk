# linux: an unmodified Linux kernel (Debian's linux-source-6.1 package), with its
# initramfs (linux/user/: our own init, shell and tools) built in, behind our own
# SBI firmware (sbi/), in one ELF image: $(OUT)/linux.elf.
#
#   make linux         build $(OUT)/linux.elf (long: the kernel is built from source)
#   make linux-check   build it again in a scratch directory and compare
#
# Not part of `make` and `make check`, which need only the bare-metal toolchain:
# this needs linux-source-6.1, gcc-riscv64-linux-gnu, flex, bison, bc and cpio.
# Reproducible: the kernel's build stamps are fixed (LINUX_STAMP), the initramfs's
# files all get that time, and no path of the build tree reaches the image.

LINUX_TARBALL ?= /usr/src/linux-source-6.1.tar.xz
LINUX_CROSS   ?= riscv64-linux-gnu-
LINUX_BUILD   := $(BUILD)/linux
LINUX_SRC     := $(LINUX_BUILD)/linux-source-6.1
LINUX_HDRS    := $(LINUX_BUILD)/headers
LINUX_STAMP   := 2026-12-01 00:00:00 UTC

# The kernel source, unpacked once from Debian's tarball.
$(LINUX_SRC)/Makefile: $(LINUX_TARBALL)
	@mkdir -p $(LINUX_BUILD)
	tar -C $(LINUX_BUILD) -xf $(LINUX_TARBALL)
	touch $@

# The kernel's user-space API headers (asm/unistd.h, linux/*.h) for RV32 programs.
$(LINUX_HDRS)/.installed: $(LINUX_SRC)/Makefile
	$(MAKE) -s -C $(LINUX_SRC) ARCH=riscv O=$(abspath $(LINUX_BUILD)/headers-build) \
	    INSTALL_HDR_PATH=$(abspath $(LINUX_HDRS)) headers_install
	touch $@

# linux/user/user.mk: the initramfs, as a gen_init_cpio list: $(LINUX_BUILD)/initramfs.list
-include linux/user/user.mk

.PHONY: linux linux-check
