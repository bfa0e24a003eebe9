"""The native module (Rust). Use the functions of ``stemma`` instead."""

from typing import List, Optional, Tuple

__version__: str

def show_json(path: str, import_: bool = ..., deep: bool = ...) -> str: ...
def read_json(path: str, import_: bool = ..., deep: bool = ...) -> Optional[str]: ...
def show_many_json(paths: List[str], import_: bool = ..., deep: bool = ...) -> List[str]: ...
def expand(paths: List[str]) -> List[str]: ...
def find_json(query: str, start: str, catalog: Optional[str] = ..., limit: Optional[int] = ...) -> List[str]: ...
def stamp(
    path: str,
    output: Optional[str] = ...,
    record: Optional[str] = ...,
    fresh: bool = ...,
    patch: Optional[str] = ...,
    parents: List[Tuple[str, Optional[str], Optional[str]]] = ...,
    sidecar: bool = ...,
    xmp: bool = ...,
    a1111: bool = ...,
    windows: bool = ...,
    force: bool = ...,
) -> str: ...
def strip(path: str, profile: str = ..., output: Optional[str] = ...) -> bool: ...
def ids(path: str, pixels: bool = ...) -> Tuple[Optional[str], Optional[str]]: ...
def lineage_id(path: str) -> str: ...
def validate_record(record: str) -> List[str]: ...
def settings_hash(document: str) -> str: ...
def run_open(
    folder: str,
    name: str,
    generator: Optional[str] = ...,
    settings: Optional[str] = ...,
    count: Optional[int] = ...,
    pattern: str = ...,
    created: Optional[str] = ...,
) -> Tuple[str, str]: ...
def run_record(
    manifest: str,
    index: int,
    file: str,
    id: Optional[str] = ...,
    seed: Optional[str] = ...,
    patch: Optional[str] = ...,
    parents: List[str] = ...,
) -> str: ...
def run_status(manifest: str) -> str: ...
