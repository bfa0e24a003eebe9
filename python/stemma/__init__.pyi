"""Typed interface of the ``stemma`` package (records are plain dicts matching the stemma record schema)."""

import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ._errors import (
    CatalogError as CatalogError,
    DamagedFileError as DamagedFileError,
    LimitExceededError as LimitExceededError,
    MissingFileError as MissingFileError,
    ProtectedFileError as ProtectedFileError,
    RecordError as RecordError,
    StemmaError as StemmaError,
    StemmaIOError as StemmaIOError,
    UnsupportedFormatError as UnsupportedFormatError,
)
from ._run import Run as Run

__version__: str

PathLike = Union[str, os.PathLike[str]]
Record = Dict[str, Any]
Envelope = Dict[str, Any]
ParentLike = Union[PathLike, Tuple[PathLike, str], Dict[str, Any]]

def read(path: PathLike, *, import_metadata: bool = ..., deep: bool = ...) -> Optional[Record]:
    """The file's record (embedded, sidecar, or imported from its generator's metadata), or None."""

def show(path: PathLike, *, import_metadata: bool = ..., deep: bool = ...) -> Envelope:
    """The object ``stemma show --json`` prints: file, format, width, height, source, layers, record, metadata,
    warnings."""

def scan(*folders: PathLike, import_metadata: bool = ..., deep: bool = ..., batch: int = ...) -> Iterator[Envelope]:
    """Envelopes of the image files under the folders, sorted, read in parallel; unreadable files yield
    ``{"file", "error"}``."""

def ids(path: PathLike, *, pixels: bool = ...) -> Dict[str, Optional[str]]:
    """Content ids ``{"pixels": ..., "data": ...}``."""

def strip(path: PathLike, profile: str = ..., output: Optional[PathLike] = ...) -> bool:
    """Remove metadata (profile ``"stemma"``, ``"all"`` or ``"lineage"``); True when a file was written."""

def settings_hash(settings: Any) -> str:
    """``sha256:`` hash of a settings document's RFC 8785 canonical JSON."""

def validate(record: Record) -> List[str]:
    """Schema problems of a record; empty when valid."""

def find(
    query: str = ...,
    *,
    library: PathLike = ...,
    catalog: Optional[PathLike] = ...,
    limit: Optional[int] = ...,
) -> List[Dict[str, Any]]:
    """Search the catalog with the query language; one dict per image, as ``stemma find --json``."""

def stamp(
    path: PathLike,
    record: Optional[Record] = ...,
    *,
    prompt: Optional[str] = ...,
    negative: Optional[str] = ...,
    seed: Union[int, str, None] = ...,
    params: Optional[Dict[str, Any]] = ...,
    parents: Optional[Iterable[ParentLike]] = ...,
    sequence: Optional[str] = ...,
    frame: Optional[int] = ...,
    generator: Union[str, Dict[str, Any], None] = ...,
    created: Optional[str] = ...,
    run: Optional[Dict[str, Any]] = ...,
    fresh: bool = ...,
    output: Optional[PathLike] = ...,
    sidecar: bool = ...,
    xmp: bool = ...,
    a1111: bool = ...,
    windows: bool = ...,
    force: bool = ...,
) -> Record:
    """Write a record into the file atomically (every other byte kept); returns the record written."""

def save(
    image: Any,
    path: PathLike,
    record: Optional[Record] = ...,
    *,
    prompt: Optional[str] = ...,
    negative: Optional[str] = ...,
    seed: Union[int, str, None] = ...,
    params: Optional[Dict[str, Any]] = ...,
    parents: Optional[Iterable[ParentLike]] = ...,
    sequence: Optional[str] = ...,
    frame: Optional[int] = ...,
    generator: Union[str, Dict[str, Any], None] = ...,
    created: Optional[str] = ...,
    run: Optional[Dict[str, Any]] = ...,
    format: Optional[str] = ...,
    a1111: bool = ...,
    windows: bool = ...,
    **pillow_options: Any,
) -> Record:
    """Encode a Pillow image or NumPy array with Pillow and stamp its record, atomically; returns the record."""
