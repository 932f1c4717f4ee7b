"""Disks for guests: the unix guest's file system on an image (tufs.py), the
`tuivmm disk` tool that makes and changes images from the host (tool.py), and the
disk each front end gives a guest — a kept file, or a fresh throwaway one
(attach.py)."""
