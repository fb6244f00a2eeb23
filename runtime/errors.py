"""The project's exception types: every error a user can cause is one of
these, with a message that names the option, field, line or file at fault."""


class TimelocalError(Exception):
    """Base class: a problem the user can act on (the CLI prints the message)."""


class SpecError(TimelocalError):
    """A network spec or hyper-parameter is invalid (a usage error)."""


class StreamError(TimelocalError):
    """A stream could not be opened or its data are unusable."""


class BadSampleError(StreamError):
    """One sample is malformed; ``kind`` is its counter name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class CheckpointError(TimelocalError):
    """A checkpoint could not be read, or does not fit the run."""
