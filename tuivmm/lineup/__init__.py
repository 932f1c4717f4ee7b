"""Which guests to run, and how each is set up: what the user named (spec.py: an
image, a name, RAM, a disk, a remedy ..., the same from the command line, a lineup
file or F9), the option types and the F9 line (options.py), the packaged guests
(packaged.py) and lineup files (file.py)."""
