"""``stemma.Run``: the writer side of a run manifest, for notebook and script loops.

The manifest ``<name>.stemma-run.json`` (format in python/README.md) records the run's id, generator, base
settings and their hash, the plan, and each produced item with its content ids, settings patch and parents. A run
that died is resumed from :meth:`Run.resume_point`, found from the files' content, not from counting files.
"""

import datetime
import json
import os
import tempfile
import uuid
from typing import Any, Dict, Iterable, List, Optional

MANIFEST_VERSION = "0.1"
MANIFEST_SUFFIX = ".stemma-run.json"


class Run:
    """A generation run: a plan of ``count`` items, each saved with :meth:`save` and recorded in the manifest.

    ``Run(name, folder)`` opens ``folder/<name>.stemma-run.json`` or creates it (with ``generator``, ``settings``
    and ``count``). Reopening with other ``settings`` than the manifest's raises :class:`stemma.RecordError`:
    a resumed run must go on with the settings it started with.
    """

    def __init__(
        self,
        name: str,
        folder: "os.PathLike[str] | str" = ".",
        *,
        generator: Optional[str] = None,
        settings: Optional[Dict[str, Any]] = None,
        count: Optional[int] = None,
        pattern: str = "{name}_{index:05d}.png",
    ):
        from . import RecordError, settings_hash

        if not name or os.sep in name or (os.altsep and os.altsep in name):
            raise ValueError(f"run name {name!r}: expected a plain name (no folder)")
        self.name = name
        self.folder = os.path.abspath(os.fspath(folder))
        self.path = os.path.join(self.folder, name + MANIFEST_SUFFIX)
        if os.path.exists(self.path):
            self.manifest = _load(self.path)
            if settings is not None and settings_hash(settings) != self.manifest.get("settings_hash"):
                raise RecordError(
                    f"{self.path}: the run was started with other settings "
                    f"({self.manifest.get('settings_hash')}); start a new run or fork it",
                    self.path,
                    "settings differ from the manifest's",
                )
            if count is not None and self.manifest["plan"].get("count") != count:
                self.manifest["plan"]["count"] = int(count)
                self._write()
        else:
            base = settings if settings is not None else {}
            self.manifest = {
                "stemma_run": MANIFEST_VERSION,
                "id": "run-" + uuid.uuid4().hex,
                "name": name,
                "generator": {"name": generator} if generator else None,
                "created": _now(),
                "settings": base,
                "settings_hash": settings_hash(base),
                "plan": {"count": None if count is None else int(count), "pattern": pattern},
                "items": [],
            }
            os.makedirs(self.folder, exist_ok=True)
            self._write()

    # -- the manifest ------------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id (also the sequence id of its frames)."""
        return self.manifest["id"]

    @property
    def count(self) -> Optional[int]:
        """The planned number of items, when known."""
        return self.manifest["plan"].get("count")

    @property
    def items(self) -> List[Dict[str, Any]]:
        """The produced items, by index."""
        return sorted(self.manifest["items"], key=lambda item: item["index"])

    def item(self, index: int) -> Optional[Dict[str, Any]]:
        """The manifest's entry for item ``index``, or None."""
        for item in self.manifest["items"]:
            if item["index"] == index:
                return item
        return None

    def file_of(self, index: int) -> str:
        """The path item ``index`` is saved to."""
        entry = self.item(index)
        if entry is not None:
            return os.path.join(self.folder, entry["file"])
        return os.path.join(self.folder, self.manifest["plan"]["pattern"].format(name=self.name, index=index))

    def _write(self) -> None:
        """Write the manifest atomically: a temporary file in the same folder, fsync, rename."""
        handle, temporary = tempfile.mkstemp(prefix=".stemma-run-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self.manifest, out, indent=2, ensure_ascii=False)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise

    # -- producing ---------------------------------------------------------------------------------------------

    def next_index(self) -> int:
        """The index :meth:`save` uses when none is given: the resume point, else one past the last item."""
        point = self.resume_point()
        if point is not None:
            return point
        return max((item["index"] for item in self.manifest["items"]), default=-1) + 1

    def save(
        self,
        image: Any,
        index: Optional[int] = None,
        *,
        patch: Optional[Dict[str, Any]] = None,
        prompt: Optional[str] = None,
        negative: Optional[str] = None,
        seed: Any = None,
        params: Optional[Dict[str, Any]] = None,
        parents: Optional[Iterable[Any]] = None,
        path: Optional[str] = None,
        **pillow_options: Any,
    ) -> Dict[str, Any]:
        """Save item ``index`` (default: :meth:`next_index`) with its record and note it in the manifest.

        ``patch`` is this item's change to the run's base settings (kept in the manifest). ``parents`` default to
        the previous item (relation ``previous_frame``) when it exists. The record carries the run (id, settings
        hash, index) and the sequence (run id, frame = index). Returns the record written.
        """
        from . import ids, save

        if index is None:
            index = self.next_index()
        if self.count is not None and not 0 <= index < self.count:
            raise IndexError(f"{self.path}: item {index} is outside the plan of {self.count} items")
        target = os.path.abspath(path) if path is not None else self.file_of(index)
        if parents is None:
            previous = self.item(index - 1)
            parents = []
            content = (previous or {}).get("content") or {}
            # Children name a parent by its pixel id where it has one (PNG, WebP lossless), else its data id (JPEG).
            parent_id = content.get("pixels") or content.get("data")
            if previous is not None and parent_id:
                parents = [{"id": parent_id, "relation": "previous_frame", "hint": previous["file"]}]
        generator = self.manifest.get("generator")
        record = save(
            image,
            target,
            prompt=prompt,
            negative=negative,
            seed=seed,
            params=params,
            parents=parents,
            sequence=self.id,
            frame=index,
            generator=generator,
            run={"id": self.id, "settings": self.manifest["settings_hash"], "index": index},
            **pillow_options,
        )
        content = record.get("content") or ids(target)
        entry = {
            "index": index,
            "file": os.path.relpath(target, self.folder),
            "content": {"pixels": content.get("pixels"), "data": content.get("data")},
            "patch": patch or {},
            "seed": record.get("params", {}).get("seed"),
            "parents": [p.get("id") for p in record.get("parents", []) if p.get("id")],
            "saved": _now(),
        }
        self.manifest["items"] = [item for item in self.manifest["items"] if item["index"] != index] + [entry]
        self._write()
        return record

    # -- resuming ----------------------------------------------------------------------------------------------

    def status(self) -> Dict[int, str]:
        """Each planned (or recorded) item's state: ``verified`` (present, its data id as recorded), ``missing``
        (not produced, or its file is gone), ``damaged`` (unreadable, truncated, or its content changed)."""
        from . import StemmaError, ids

        indices = set(range(self.count)) if self.count is not None else set()
        indices.update(item["index"] for item in self.manifest["items"])
        states = {}
        for index in sorted(indices):
            entry = self.item(index)
            if entry is None:
                states[index] = "missing"
                continue
            file = os.path.join(self.folder, entry["file"])
            if not os.path.exists(file):
                states[index] = "missing"
                continue
            try:
                # The data id hashes the image data without decoding it; a damaged file fails or differs.
                found = ids(file, pixels=False)["data"]
            except StemmaError:
                states[index] = "damaged"
                continue
            states[index] = "verified" if found == entry["content"].get("data") else "damaged"
        return states

    def resume_point(self) -> Optional[int]:
        """The first planned item that is missing or damaged (the one to redo), or None when all are verified."""
        for index, state in self.status().items():
            if state != "verified":
                return index
        return None

    def __repr__(self) -> str:
        return f"Run({self.name!r}, {self.folder!r}, id={self.id!r}, items={len(self.manifest['items'])}/{self.count})"


def _load(path: str) -> Dict[str, Any]:
    from . import RecordError

    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except json.JSONDecodeError as e:
        raise RecordError(f"{path}: run manifest is not valid JSON: {e}", path, str(e)) from e
    if not isinstance(manifest, dict) or "id" not in manifest or not isinstance(manifest.get("items"), list):
        raise RecordError(f"{path}: not a stemma run manifest", path, "not a stemma run manifest")
    manifest.setdefault("plan", {}).setdefault("pattern", "{name}_{index:05d}.png")
    return manifest


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
