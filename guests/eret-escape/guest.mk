# eret-escape-pv: the same kernel built paravirtual (-DPARAVIRT; defs.h names what
# changes): it returns to user mode with the HV_SRET hypercall (hypercall.h)
# instead of SRET, and its own M-mode serves the call on the bare machine.
VARIANTS += eret-escape-pv
eret-escape-pv_DIR  := eret-escape
eret-escape-pv_DEFS := -DPARAVIRT
