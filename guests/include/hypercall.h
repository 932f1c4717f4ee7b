// The tuivmm hypercall ABI: how a paravirtual guest kernel asks the layer below
// it (tuivmm, or the guest's own M-mode on a bare machine) for what it must not
// do itself.  Plain #defines, so assembly can include it too.
//
// Calling convention: the RISC-V SBI's ("Binary Encoding" chapter of the SBI spec)
//
//   ecall from S-mode, with a7 = extension ID (EID), a6 = function ID (FID)
//
// tuivmm's extension has an EID from SBI's experimental range, 0x08000000 to
// 0x08FFFFFF: 0x08 and then "TVM" in ASCII.
//
// FID 0, HV_SRET: return from supervisor mode exactly as SRET would (priv spec
// 3.3.2): pc <- sepc; privilege <- the mode in sstatus.SPP (S or U); SIE <- SPIE;
// SPIE <- 1; SPP <- U.  The call does not return to its caller: control goes on
// at sepc in the new mode.  It takes its own two registers, so the a6 and a7 that
// the resumed code gets come from memory: the save area, two words at the
// (4-byte aligned, physical) address in sscratch, a6 first, then a7.  Every other
// register and CSR is left as the caller set it, sscratch included, as SRET
// leaves them; so a kernel going back to user mode loads all the user's
// registers, keeps the user's a6 and a7 at sscratch, and makes the call.
//
// Why: SRET is the instruction that, on hardware whose xRET does not trap in
// U-mode (the lecture's flaw), runs unseen in a deprivileged guest.  An ecall
// always traps, so a monitor always sees the kernel leave for user mode.
//
// Who serves it: a VMM that knows this ABI (tuivmm's pv remedy) serves the call
// itself.  On the bare machine, or under a monitor that hands a guest's ecalls
// from S-mode to the guest's own M-mode, a small M-mode shim in the guest image
// serves it (eret-escape-pv: entry.S machinevec and start.c hvtrap).
//
// Any other EID or FID is not a tuivmm hypercall: SBI would return
// SBI_ERR_NOT_SUPPORTED in a0; the guests' shims panic instead, as a kernel
// that makes such a call is broken.
#pragma once

#define TUIVMM_HV_EID 0x0854564D   // 0x08 (SBI experimental) + "TVM"
#define HV_SRET       0            // FID: do SRET; a6, a7 from the save area at sscratch
