# sbi: our M-mode SBI firmware (not a guest image by itself: it has sbi.ld, not
# kernel.ld).  It is linked with a payload — an S-mode program or Linux's Image,
# a raw binary — into one ELF: the firmware at 0x8000_0000 (the entry), the
# payload at 0x8040_0000; `tuivmm bare`, `tuivmm run` and QEMU's
# `-machine virt -bios none -kernel X.elf` all start the firmware, which enters
# the payload in S-mode with a0 = hart id and a1 = the device tree.
#
# Interface:
#   SBI_OBJS                the firmware's objects, under $(BUILD)/sbi/
#   $(call sbi_link,NAME,PAYLOAD)
#                           under $(eval ...): a rule for $(OUT)/NAME.elf, the
#                           firmware with the raw binary PAYLOAD (a path, from
#                           guests/) at 0x8040_0000; the payload object is
#                           $(BUILD)/sbi/payload-NAME.o.  In the image, the symbols
#                           sbi_payload_start and sbi_payload_end bound the payload.
#   make SBI_PAYLOAD=FILE $(OUT)/sbi.elf
#                           the firmware with any payload, to try it (the tests do)
#
# Linux (guests/linux/guest.mk), whose guest.mk make reads before this one:
#   include sbi/guest.mk    # safe: this file includes itself once only
#   $(eval $(call sbi_link,linux,$(LINUX_BUILD)/kernel/arch/riscv/boot/Image))
#   linux: $(OUT)/linux.elf

ifndef SBI_GUEST_MK
SBI_GUEST_MK := 1

SBI_SRCS := $(sort $(filter-out sbi/payload.S,$(wildcard sbi/*.c sbi/*.S)))
SBI_OBJS := $(patsubst %,$(BUILD)/%.o,$(SBI_SRCS))

# sbi_link(name, payload): link $(OUT)/<name>.elf.  The payload is assembled
# without -g, so no path of it lands in the image.  Both segments are RWX on
# purpose (sbi.ld), so ld's warning about that is off.
define sbi_link
$(BUILD)/sbi/payload-$(1).o: sbi/payload.S $(2) sbi/guest.mk
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ARCH) -DSBI_PAYLOAD_FILE='"$(2)"' -c -o $$@ sbi/payload.S

$(OUT)/$(1).elf: $$(SBI_OBJS) $(BUILD)/sbi/payload-$(1).o sbi/sbi.ld | $(OUT)
	$$(CC) $$(LDFLAGS) -Wl,--no-warn-rwx-segments -T sbi/sbi.ld -o $$@ $$(SBI_OBJS) $(BUILD)/sbi/payload-$(1).o
endef

ifneq ($(SBI_PAYLOAD),)
$(eval $(call sbi_link,sbi,$(SBI_PAYLOAD)))
endif

endif
