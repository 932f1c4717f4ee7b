# The payload, a raw binary (Linux's arch/riscv/boot/Image, or a test program)
# taken in whole by the assembler.  guest.mk's sbi_link assembles this file with
# -DSBI_PAYLOAD_FILE="path"; sbi.ld puts the section at 0x8040_0000.
        .section .payload, "awx"
        .incbin SBI_PAYLOAD_FILE
