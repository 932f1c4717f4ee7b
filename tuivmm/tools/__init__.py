"""Tools built on the monitor's core (tuivmm.vmm), each for one guest at a time:
a debugger and its gdb remote stub (debugger.py, gdbstub.py), snapshots
(snapshot.py, with the file format in snapfile.py), record and replay (record.py)
and packet capture of the virtual switch (pcap.py)."""
