"""tuivmm: a trap-and-emulate virtual machine monitor for a simulated RISC-V computer.

The VMM and the dashboard are later layers; today the package provides the command
line (`tuivmm bare IMAGE`) over the physical machine in `machine/`.
"""

__version__ = "0.1.0"
