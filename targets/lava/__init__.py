"""The Lava target (needs the ``lava`` extra: lava-nc 0.10.0, Python 3.10)."""
