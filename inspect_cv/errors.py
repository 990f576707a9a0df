"""Typed errors of inspect-cv: every failure a user can cause is one of these.

The CLI prints ``str(error)`` as one line (no traceback unless ``--debug``); the
HTTP service maps :class:`InputError` to 4xx. Messages name the file or value at
fault and, where it helps, what to do about it.
"""
from __future__ import annotations

from pathlib import Path


class InspectCVError(Exception):
    """Base class of all errors raised on purpose by inspect-cv."""


class InputError(InspectCVError):
    """A user-supplied input (file, array, argument) cannot be used."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UnsupportedFormatError(InputError):
    """The file's format or layout is not one inspect-cv reads."""


class CorruptImageError(InputError):
    """The file claims to be an image but cannot be decoded (truncated, damaged)."""


class EmptyImageError(InputError):
    """The file or array is empty or has a zero-sized dimension."""


class PhotoRejectedError(InputError):
    """A photo failed the enrolment quality gate; ``reason`` names why (e.g. ``blurred``)."""

    def __init__(self, message: str, reason: str, path: str | Path | None = None, report=None):
        self.reason = reason
        self.report = report
        super().__init__(f"photo rejected ({reason}): {message}", path)


class ImageTooLargeError(InputError):
    """The image exceeds the configured pixel or byte limit (override the limit to read it)."""


class MissingDependencyError(InspectCVError):
    """An optional dependency (an extra such as ``dicom`` or ``train``) is not installed."""

    def __init__(self, package: str, extra: str, what: str = ""):
        self.package, self.extra = package, extra
        need = f" to {what}" if what else ""
        super().__init__(
            f"the optional package '{package}' is needed{need}: "
            f"pip install 'inspect-cv[{extra}]'"
        )


class ModelError(InspectCVError):
    """A model file or its card is unusable."""


class ModelNotFoundError(ModelError):
    """No bundled model of that name and no file at that path."""


class ModelCardError(ModelError):
    """The model's card (ONNX metadata) is missing fields or malformed."""


class IntegrityError(ModelError):
    """A model file does not match the checksum recorded in its card."""


class DatasetError(InspectCVError):
    """A dataset or annotation file does not follow its declared format."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        where = self.path or ""
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(InspectCVError):
    """A configuration file or override is invalid."""
