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

# The kernel, built out of tree in $(LINUX_KBUILD) with its build stamps fixed.
LINUX_KBUILD := $(LINUX_BUILD)/kernel
LINUX_KMAKE   = $(MAKE) -s -C $(LINUX_SRC) O=$(abspath $(LINUX_KBUILD)) ARCH=riscv CROSS_COMPILE=$(LINUX_CROSS) \
                KBUILD_BUILD_TIMESTAMP="$(LINUX_STAMP)" KBUILD_BUILD_USER=tuivmm KBUILD_BUILD_HOST=tuivmm \
                KBUILD_BUILD_VERSION=1
LINUX_IMAGE  := $(LINUX_KBUILD)/arch/riscv/boot/Image

# The configuration: allnoconfig with linux/linux.config on top, the initramfs list
# named, then every symbol the fragment sets checked (a dependency it lacks would
# drop one without a word).
$(LINUX_KBUILD)/.config: linux/linux.config linux/guest.mk $(LINUX_SRC)/Makefile
	@mkdir -p $(LINUX_KBUILD)
	$(LINUX_KMAKE) KCONFIG_ALLCONFIG=$(abspath linux/linux.config) allnoconfig
	$(LINUX_SRC)/scripts/config --file $@ --set-str INITRAMFS_SOURCE $(abspath $(LINUX_BUILD)/initramfs.list)
	$(LINUX_KMAKE) olddefconfig
	@grep '^CONFIG_' linux/linux.config | while IFS= read -r line; do \
	  name=$${line%%=*}; value=$${line#*=}; \
	  if [ "$$value" = n ]; then grep -qx "# $$name is not set" $@ || ! grep -q "^$$name=" $@; \
	  else grep -qxF "$$line" $@; fi || { echo "linux.config: $$line did not stick (see $@)"; rm -f $@; exit 1; }; \
	done

# Kbuild knows what to rebuild; it always gets asked.
$(LINUX_IMAGE): $(LINUX_KBUILD)/.config $(LINUX_BUILD)/initramfs.list FORCE
	$(LINUX_KMAKE) Image

FORCE:

# The image: our SBI firmware at 0x8000_0000 with the kernel's Image (the
# initramfs inside it) at 0x8040_0000.
include sbi/guest.mk
$(eval $(call sbi_link,linux,$(LINUX_IMAGE)))

linux: $(OUT)/linux.elf

# Built again from nothing in a scratch directory: the same bytes, or say where not.
linux-check:
	@scratch=$$(mktemp -d); \
	if ! $(MAKE) --no-print-directory OUT=$$scratch/images BUILD=$$scratch/build linux >$$scratch/log 2>&1; then \
	  tail -30 $$scratch/log; echo "linux: the image does not build"; rm -rf $$scratch; exit 1; fi; \
	if cmp $$scratch/images/linux.elf $(IMAGES)/linux.elf; then \
	  echo "linux: linux.elf is reproducible from source"; rm -rf $$scratch; \
	else echo "linux: linux.elf differs from the committed image (scratch kept: $$scratch)"; exit 1; fi

.PHONY: linux linux-check
