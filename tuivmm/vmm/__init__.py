"""The virtual machine monitor: trap-and-emulate virtualization of the machine.

`Vmm` owns the real machine (one hart in host mode, host RAM) and runs guests on it.
Each `Guest` is a virtual machine: a virtual hart (`VCpu`), its own devices at the
board's addresses, a window of host RAM, shadow page tables and a trap log.
"""

from tuivmm.vmm.monitor import Guest, GuestState, Vmm, VmmError

__all__ = ["Guest", "GuestState", "Vmm", "VmmError"]
