"""stemma's exceptions: every one names the file (``path``) and the reason (``reason``).

The native module raises these by name (see ``crates/stemma-py/src/error.rs``, ``ErrorKind::class_name``).
"""

from typing import Optional


class StemmaError(Exception):
    """Base of every stemma error. ``str(e)`` is ``"<file>: <reason>"``."""

    def __init__(self, message: str, path: Optional[str] = None, reason: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.reason = reason if reason is not None else message

    def __str__(self) -> str:
        return self.message


class MissingFileError(StemmaError, FileNotFoundError):
    """The file does not exist."""


class StemmaIOError(StemmaError, OSError):
    """Reading or writing the file failed (permissions, disk full, ...)."""


class UnsupportedFormatError(StemmaError):
    """Not an image stemma reads (and no sidecar), or an operation its format does not support."""


class DamagedFileError(StemmaError):
    """The file is truncated, has a bad checksum or breaks its format's rules; nothing was written."""


class LimitExceededError(StemmaError):
    """A named safety limit was exceeded (a decompression bomb, too many chunks, ...)."""


class RecordError(StemmaError, ValueError):
    """A stored or given record is not a valid stemma record, or an argument is malformed."""


class ProtectedFileError(StemmaError):
    """The file carries a C2PA manifest that the change would invalidate (pass ``force=True`` to go on)."""


class CatalogError(StemmaError):
    """No catalog was found (run ``stemma init``), it cannot be opened, or a query does not parse."""
