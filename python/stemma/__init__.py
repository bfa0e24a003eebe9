"""stemma: the recipe of an AI image (prompt, settings, lineage, sequence), kept losslessly inside the file.

Records are plain dicts matching the stemma record schema; seeds are strings. Every error is a
:class:`StemmaError` naming the file (``e.path``) and the reason (``e.reason``). The work is done in Rust with the
GIL released, so threads reading files run in parallel.
"""

import json
import os
import tempfile
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _stemma
from ._errors import (
    CatalogError,
    DamagedFileError,
    LimitExceededError,
    MissingFileError,
    ProtectedFileError,
    RecordError,
    StemmaError,
    StemmaIOError,
    UnsupportedFormatError,
)

__version__ = _stemma.__version__

__all__ = [
    "read",
    "show",
    "stamp",
    "save",
    "ids",
    "strip",
    "scan",
    "find",
    "settings_hash",
    "validate",
    "Run",
    "StemmaError",
    "CatalogError",
    "MissingFileError",
    "StemmaIOError",
    "UnsupportedFormatError",
    "DamagedFileError",
    "LimitExceededError",
    "RecordError",
    "ProtectedFileError",
]

PathLike = Union[str, "os.PathLike[str]"]


def read(path: PathLike, *, import_metadata: bool = True, deep: bool = False) -> Optional[Dict[str, Any]]:
    """The file's record, or None when it has none.

    The record is the file's embedded stemma record, else its sidecar ``<file name>.stemma.json``, else one
    imported from the generator's metadata (A1111, ComfyUI, InvokeAI, ...) unless ``import_metadata`` is False.
    ``deep`` also reads metadata hidden in the pixels (stealth pnginfo), which decodes the image.
    """
    text = _stemma.read_json(os.fspath(path), import_metadata, deep)
    return None if text is None else json.loads(text)


def show(path: PathLike, *, import_metadata: bool = True, deep: bool = False) -> Dict[str, Any]:
    """What stemma knows about the file: the object ``stemma show --json`` prints.

    Keys: ``file``, ``format``, ``width``, ``height``, ``source`` (``"stemma"``, ``"sidecar"``, ``"imported"`` or
    None), ``layers`` (metadata dialects found), ``record``, ``metadata`` (one item per entry: origin, key, size),
    ``warnings``.
    """
    return json.loads(_stemma.show_json(os.fspath(path), import_metadata, deep))


def scan(
    *folders: PathLike, import_metadata: bool = True, deep: bool = False, batch: int = 256
) -> Iterator[Dict[str, Any]]:
    """The envelopes (as :func:`show`) of the image files under the folders, sorted by path, read in parallel.

    A file that cannot be read yields ``{"file": ..., "error": ...}`` instead of stopping the scan, as
    ``stemma show --json`` prints it.
    """
    if not folders:
        raise TypeError("scan() needs at least one folder")
    paths = _stemma.expand([os.fspath(f) for f in folders])
    for start in range(0, len(paths), max(1, batch)):
        for text in _stemma.show_many_json(paths[start : start + batch], import_metadata, deep):
            yield json.loads(text)


def ids(path: PathLike, *, pixels: bool = True) -> Dict[str, Optional[str]]:
    """The file's content ids: ``{"pixels": ..., "data": ...}`` (the pixel id decodes the image; skip it with
    ``pixels=False``)."""
    pixel_id, data_id = _stemma.ids(os.fspath(path), pixels)
    return {"pixels": pixel_id, "data": data_id}


def strip(path: PathLike, profile: str = "stemma", output: Optional[PathLike] = None) -> bool:
    """Remove metadata; returns True when a file was written.

    ``profile``: ``"stemma"`` removes only stemma's own chunks (the file returns to what it was before it was
    stamped), ``"all"`` every metadata chunk or segment (colour kept), ``"lineage"`` like ``"all"`` but keeps a
    record of content ids and lineage only. The file is rewritten atomically, or written to ``output``.
    """
    return _stemma.strip(os.fspath(path), profile, None if output is None else os.fspath(output))


def settings_hash(settings: Any) -> str:
    """The ``sha256:`` hash of a settings document (RFC 8785 canonical JSON)."""
    return _stemma.settings_hash(json.dumps(settings))


def validate(record: Dict[str, Any]) -> List[str]:
    """The problems that keep ``record`` from being a valid stemma record (empty when it is valid)."""
    return _stemma.validate_record(json.dumps(record))


def find(
    query: str = "",
    *,
    library: PathLike = ".",
    catalog: Optional[PathLike] = None,
    limit: Optional[int] = None,
) -> List[Dict[str, Any]]:
    """Search the catalog with stemma's query language (``stemma find --help``), e.g.
    ``stemma.find("lighthouse steps:20..40 model:dream*")``. Returns one dict per image, as ``stemma find --json``
    prints it (ids, paths, tags, rating, record). The catalog is ``catalog`` (a ``catalog.db`` path) when given,
    else the one found by walking up from ``library`` (made by ``stemma init`` and ``stemma scan``). Raises
    :class:`CatalogError` when there is none or the query does not parse (the message points at the column)."""
    found = _stemma.find_json(
        query,
        os.fspath(library),
        os.fspath(catalog) if catalog is not None else None,
        limit,
    )
    return [json.loads(hit) for hit in found]


ParentLike = Union[PathLike, Tuple[PathLike, str], Dict[str, Any]]


def _seed_text(seed: Any) -> str:
    if isinstance(seed, bool):
        raise RecordError(f"seed {seed!r}: expected an integer or a decimal string")
    text = str(int(seed)) if not isinstance(seed, str) else seed.strip()
    if not text.lstrip("-").isdigit():
        raise RecordError(f"seed {seed!r}: expected an integer or a decimal string")
    return text


def _patch(
    prompt: Optional[str],
    negative: Optional[str],
    seed: Any,
    params: Optional[Dict[str, Any]],
    sequence: Optional[str],
    frame: Optional[int],
    generator: Union[str, Dict[str, Any], None],
    created: Optional[str],
    run: Optional[Dict[str, Any]],
) -> Dict[str, Any]:
    """The merge patch the keyword arguments make on the base record."""
    patch: Dict[str, Any] = {}
    if prompt is not None:
        patch.setdefault("prompt", {})["positive"] = prompt
    if negative is not None:
        patch.setdefault("prompt", {})["negative"] = negative
    merged: Dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key == "seed" and value is not None:
            value = _seed_text(value)
        elif key in ("model", "vae") and isinstance(value, str):
            value = {"name": value}
        merged[key] = value
    if seed is not None:
        merged["seed"] = _seed_text(seed)
    if merged:
        patch["params"] = merged
    if frame is not None and sequence is None:
        raise RecordError("frame needs a sequence id")
    if sequence is not None:
        patch["sequence"] = {"id": str(sequence)}
        if frame is not None:
            patch["sequence"]["frame"] = int(frame)
    if generator is not None:
        patch["generator"] = {"name": generator} if isinstance(generator, str) else dict(generator)
    if created is not None:
        patch["created"] = created
    if run is not None:
        patch["run"] = dict(run)
    return patch


def _parents(parents: Optional[Iterable[ParentLike]]) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """Parents as ``(file or content id, relation, hint)``."""
    out = []
    for parent in parents or []:
        if isinstance(parent, dict):
            target = parent.get("id") or parent.get("path") or parent.get("file")
            if target is None:
                raise RecordError(f"parent {parent!r}: needs an 'id' or a 'path'")
            out.append((os.fspath(target), parent.get("relation"), parent.get("hint")))
        elif isinstance(parent, tuple):
            target, relation = parent
            out.append((os.fspath(target), relation, None))
        else:
            out.append((os.fspath(parent), None, None))
    return out


def stamp(
    path: PathLike,
    record: Optional[Dict[str, Any]] = None,
    *,
    prompt: Optional[str] = None,
    negative: Optional[str] = None,
    seed: Union[int, str, None] = None,
    params: Optional[Dict[str, Any]] = None,
    parents: Optional[Iterable[ParentLike]] = None,
    sequence: Optional[str] = None,
    frame: Optional[int] = None,
    generator: Union[str, Dict[str, Any], None] = None,
    created: Optional[str] = None,
    run: Optional[Dict[str, Any]] = None,
    fresh: bool = False,
    output: Optional[PathLike] = None,
    sidecar: bool = False,
    xmp: bool = True,
    a1111: bool = False,
    windows: bool = False,
    force: bool = False,
) -> Dict[str, Any]:
    """Write a stemma record into the file (atomically, every other byte kept) and return the record written.

    The record starts from ``record`` when given, else from an empty one with ``fresh=True``, else from the file's
    current record (embedded, sidecar, or imported from its generator's metadata). The keyword fields are applied
    on top: ``prompt``/``negative`` set the prompt, ``seed`` (kept as a decimal string) and ``params`` (schema
    names: ``steps``, ``cfg_scale``, ``sampler``, ``model``, ...; other keys kept as they are) are merged into
    ``params``, ``parents`` (files, ``sha256:`` ids, ``(file, relation)`` pairs or dicts with ``id``/``path``,
    ``relation``, ``hint``) are appended, ``sequence``/``frame`` place the image in a sequence. Content ids are
    computed from the file. ``output`` writes a new file instead; ``sidecar=True`` writes
    ``<file name>.stemma.json`` and leaves the file alone. ``xmp``, ``a1111``, ``windows`` choose the interop
    mirrors; ``force`` rewrites a C2PA-signed file.
    """
    patch = _patch(prompt, negative, seed, params, sequence, frame, generator, created, run)
    text = _stemma.stamp(
        os.fspath(path),
        None if output is None else os.fspath(output),
        None if record is None else json.dumps(record),
        fresh,
        json.dumps(patch) if patch else None,
        _parents(parents),
        sidecar,
        xmp,
        a1111,
        windows,
        force,
    )
    return json.loads(text)


def _to_pil(image: Any) -> Any:
    """A Pillow image from a Pillow image, a NumPy array or an array-like tensor (``[H, W]`` or ``[H, W, C]``)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    if hasattr(image, "detach"):  # a torch tensor, without importing torch
        image = image.detach().cpu().numpy()
    import numpy as np

    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3):
        raise ValueError(f"image array of shape {array.shape}: expected [H, W] or [H, W, C]")
    if array.dtype.kind == "f":
        # As ComfyUI's SaveImage: floats are 0..1.
        array = np.clip(255.0 * array, 0, 255).astype(np.uint8)
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    return Image.fromarray(array)


_NO_ALPHA = {"JPEG", "BMP"}


def save(
    image: Any,
    path: PathLike,
    record: Optional[Dict[str, Any]] = None,
    *,
    prompt: Optional[str] = None,
    negative: Optional[str] = None,
    seed: Union[int, str, None] = None,
    params: Optional[Dict[str, Any]] = None,
    parents: Optional[Iterable[ParentLike]] = None,
    sequence: Optional[str] = None,
    frame: Optional[int] = None,
    generator: Union[str, Dict[str, Any], None] = None,
    created: Optional[str] = None,
    run: Optional[Dict[str, Any]] = None,
    format: Optional[str] = None,
    a1111: bool = False,
    windows: bool = False,
    **pillow_options: Any,
) -> Dict[str, Any]:
    """Encode ``image`` with Pillow (format from ``format`` or the file extension) and stamp its record; returns
    the record written.

    ``image`` is a Pillow image or a NumPy array (``uint8``, or floats in 0..1 as ComfyUI uses). The image is
    encoded into a temporary file beside ``path`` and stamped into ``path`` in one atomic step: ``path`` never
    holds an image without its record. ``pillow_options`` go to ``Image.save`` (``quality``, ``pnginfo``, ...);
    metadata they carry (e.g. ComfyUI's ``prompt`` chunk) is kept and imported into the record. The record
    fields are those of :func:`stamp`.
    """
    from PIL import Image

    pil = _to_pil(image)
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    suffix = os.path.splitext(name)[1]
    fmt = format or Image.registered_extensions().get(suffix.lower())
    if fmt is None:
        raise UnsupportedFormatError(
            f"{target}: no image format for the extension {suffix!r} (pass format=)", target, "unknown extension"
        )
    if fmt.upper() in _NO_ALPHA and pil.mode not in ("RGB", "L", "CMYK"):
        pil = pil.convert("RGB")
    handle, temporary = tempfile.mkstemp(prefix=".stemma-save-", suffix=suffix, dir=folder or None)
    os.close(handle)
    try:
        pil.save(temporary, format=fmt, **pillow_options)
        return stamp(
            temporary,
            record,
            prompt=prompt,
            negative=negative,
            seed=seed,
            params=params,
            parents=parents,
            sequence=sequence,
            frame=frame,
            generator=generator,
            created=created,
            run=run,
            output=target,
            a1111=a1111,
            windows=windows,
        )
    except StemmaError as e:
        # Name the file the caller asked for, not the temporary one.
        message = e.message.replace(temporary, target)
        raise type(e)(message, target, (e.reason or "").replace(temporary, target)) from e
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass


from ._run import Run  # noqa: E402  (Run uses the functions above)
