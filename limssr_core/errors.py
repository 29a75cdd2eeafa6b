"""Errors the user can act on. The CLI and the app print their message, never a traceback."""


class LimssrError(Exception):
    """Base class: a clear, specific problem with the user's input, files or configuration."""


class DataError(LimssrError):
    """A dataset, feature file or label file is malformed (the message names the file or field)."""


class CheckpointMismatchError(LimssrError):
    """A checkpoint does not fit what the caller has (backbone, modalities, dims, extractors)."""
