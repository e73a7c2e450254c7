"""Accelerator plugins: how the agent finds devices, announces them and hands them to containers.

``plugin`` is the interface, ``allocator`` decides which kernel holds which device, ``loading``
finds plugins by entry point (group ``berth.accelerators``), ``mock`` and ``cuda`` are the two
plugins Berth ships. Everything in this package uses the standard library only (``cuda`` imports
pynvml when it first needs it), so a plugin loads on a bare Python with nothing else installed.
This module imports nothing on purpose: importing one plugin must not import the others.
"""
