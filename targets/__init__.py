"""Where the kernels run: ``host`` (a compiled loop over a chunk)."""
