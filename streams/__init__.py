"""Sources of time steps (u_t, y*_t): synthetic tasks, files, standard input.

``open_stream(url, ...)`` parses a stream URL (DESIGN.md, Command line)."""

from timelocal.streams.base import Chunk, Stream
from timelocal.streams.registry import STREAM_KINDS, open_stream

__all__ = ["Chunk", "Stream", "STREAM_KINDS", "open_stream"]
