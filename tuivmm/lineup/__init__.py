"""Which guests to run, and how each is set up: the packaged guests (packaged.py)
and lineup files (file.py)."""

# The most RAM one guest may have, in MiB, wherever a guest is set up: a lineup
# file's ram_mib, `tuivmm run --ram` and `tuivmm bare --ram`.  The monitor's host RAM
# (2 GiB, less its shadow page-table pool) holds one such guest with room to spare;
# the bare machine's RAM, at 0x8000_0000, could not pass 2 GiB anyway.
MAX_RAM_MIB = 1024
