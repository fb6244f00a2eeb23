"""Numba-compiled arithmetic of one time step (or a chunk of them).

Only ``@njit`` functions on plain arrays and scalars live here, plus the small
constant tables they read: no I/O, no classes with behaviour, no Lava imports
(docs: DESIGN.md, Principles; STYLE.md).
"""
