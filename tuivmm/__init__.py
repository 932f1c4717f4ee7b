"""tuivmm: a trap-and-emulate virtual machine monitor for a simulated RISC-V computer.

    tuivmm.ui      the dashboard (Textual)
    tuivmm.cli     the command line: bare, run, dash, guests, disk
    tuivmm.tools   built on the monitor: debugger and gdb stub, snapshots, record and
                   replay, packet capture
    tuivmm.vmm     the monitor's core: guests, exits, shadow paging, the world switch
    tuivmm.lineup  which guests to run and how; tuivmm.disk: their disks
    machine        (beside this package) the physical computer the monitor runs on
"""

__version__ = "0.1.0"
