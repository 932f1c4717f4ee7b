"""Which guests to run, and how each is set up: the packaged guests (packaged.py)
and lineup files (file.py)."""
