"""``stemma.Run``: the writer side of a run manifest (``spec/runs.md``), for notebook and script loops.

The manifest ``<name>.stemma-run.json`` is the library's run manifest, the one ``stemma run status`` and
``stemma resume`` read: the run's id, generator, base settings by settings hash (the document itself is kept in
the settings store, ``.stemma/settings/`` beside the catalog or the manifest), the plan (count, per-item seeds,
settings patches and parents) and each produced item's content id. A run that died is resumed from
:meth:`Run.resume_point`, which the library finds from the files' content, not from counting files.
"""

import datetime
import json
import os
from typing import Any, Dict, Iterable, List, Optional

from . import _stemma

MANIFEST_SUFFIX = ".stemma-run.json"
DEFAULT_PATTERN = "{name}_{index:05d}.png"
# Item states that need no redo.
_GOOD = ("verified", "produced")


class Run:
    """A generation run: a plan of ``count`` items, each saved with :meth:`save` and recorded in the manifest.

    ``Run(name, folder)`` opens ``folder/<name>.stemma-run.json`` or creates it (with ``generator``, ``settings``
    and ``count``; without ``count`` the plan grows with each item saved). Reopening with other ``settings`` than
    the manifest's raises :class:`stemma.RecordError`: a resumed run must go on with the settings it started with.
    A broken manifest raises :class:`stemma.RecordError` naming it.
    """

    def __init__(
        self,
        name: str,
        folder: "os.PathLike[str] | str" = ".",
        *,
        generator: Optional[str] = None,
        settings: Optional[Dict[str, Any]] = None,
        count: Optional[int] = None,
        pattern: str = DEFAULT_PATTERN,
    ):
        if not name or os.sep in name or (os.altsep and os.altsep in name):
            raise ValueError(f"run name {name!r}: expected a plain name (no folder)")
        self.name = name
        self.folder = os.path.abspath(os.fspath(folder))
        self.path, text = _stemma.run_open(
            self.folder,
            name,
            generator,
            None if settings is None else json.dumps(settings),
            None if count is None else int(count),
            pattern,
            _now(),
        )
        self.manifest: Dict[str, Any] = json.loads(text)
        # The item states of the last status by content, kept up to date by save(): next_index() needs no new
        # scan of the folder per frame (a loop of n frames would otherwise read n² files).
        self._states: Optional[Dict[int, str]] = None

    # -- the manifest ------------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id (also the sequence id of its frames): ``stemma:<name>@<12 hex of the settings hash>``."""
        return self.manifest["id"]

    @property
    def settings_hash(self) -> str:
        """The ``sha256:`` settings hash of the run's base settings (kept in the settings store)."""
        return self.manifest["settings"]["hash"]

    @property
    def count(self) -> Optional[int]:
        """The planned number of items, or None for an open-ended run."""
        plan = self.manifest["plan"]
        return None if plan.get("open_ended") else plan["count"]

    @property
    def items(self) -> List[Dict[str, Any]]:
        """The produced items, by index: ``{index, file, id, seed?, patch, parents}``."""
        return [self._entry(p) for p in sorted(self.manifest.get("produced", []), key=lambda p: p["index"])]

    def item(self, index: int) -> Optional[Dict[str, Any]]:
        """The manifest's entry for item ``index`` (see :attr:`items`), or None when it was not produced."""
        for produced in self.manifest.get("produced", []):
            if produced["index"] == index:
                return self._entry(produced)
        return None

    def _entry(self, produced: Dict[str, Any]) -> Dict[str, Any]:
        planned = next((p for p in self.manifest["plan"].get("items", []) if p.get("index") == produced["index"]), {})
        entry = {
            "index": produced["index"],
            "file": produced.get("file"),
            "id": produced["id"],
            "patch": planned.get("patch", {}),
            "parents": planned.get("parents", []),
        }
        if "seed" in planned:
            entry["seed"] = planned["seed"]
        return entry

    def file_of(self, index: int) -> str:
        """The path item ``index`` is saved to."""
        entry = self.item(index)
        if entry is not None and entry["file"]:
            return os.path.join(self.folder, entry["file"])
        pattern = self.manifest["plan"].get("pattern", DEFAULT_PATTERN)
        return os.path.join(self.folder, pattern.format(name=self.name, index=index))

    # -- producing ---------------------------------------------------------------------------------------------

    def next_index(self) -> int:
        """The index :meth:`save` uses when none is given: the resume point, else one past the last item.

        The folder is checked by content once (at the first call, or the last :meth:`status`); items saved since
        count as good."""
        if self._states is None:
            self.status()
        states = self._states or {}
        point = next((index for index, state in sorted(states.items()) if state not in _GOOD), None)
        if point is not None:
            return point
        return max((p["index"] for p in self.manifest.get("produced", [])), default=-1) + 1

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

        ``patch`` is this item's change to the run's base settings (an RFC 7396 merge patch, kept in the plan).
        ``parents`` default to the previous item (relation ``previous_frame``) when it exists. The record carries
        the run (id, settings hash, index) and the sequence (run id, frame = index). Returns the record written.
        """
        from . import save

        if index is None:
            index = self.next_index()
        if self.count is not None and not 0 <= index < self.count:
            raise IndexError(f"{self.path}: item {index} is outside the plan of {self.count} items")
        target = os.path.abspath(path) if path is not None else self.file_of(index)
        if parents is None:
            previous = self.item(index - 1)
            # The content id names a parent by its pixel id where it has one (PNG, WebP lossless), else its data
            # id (JPEG): the id children link by.
            parents = (
                [{"id": previous["id"], "relation": "previous_frame", "hint": previous["file"]}] if previous else []
            )
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
            generator={"name": generator} if generator and generator != "stemma" else None,
            run={"id": self.id, "settings": self.settings_hash, "index": index},
            **pillow_options,
        )
        content = record.get("content") or {}
        seed_text = (record.get("params") or {}).get("seed")
        text = _stemma.run_record(
            self.path,
            index,
            os.path.relpath(target, self.folder),
            content.get("pixels") or content.get("data"),
            None if seed_text is None else str(seed_text),
            json.dumps(patch) if patch else None,
            [p["id"] for p in record.get("parents", []) if p.get("id")],
        )
        self.manifest = json.loads(text)
        if self._states is not None:
            self._states[index] = "verified"
        return record

    # -- resuming ----------------------------------------------------------------------------------------------

    def status_report(self) -> Dict[str, Any]:
        """The library's status of the run, as ``stemma run status --json`` prints it: ``items`` (each with
        ``status`` and, where known, ``file``, ``reason``, ``id``), ``files`` (damaged, foreign, duplicates),
        ``first_to_redo``, ``last_good``, ``counts``, ``warnings``."""
        return json.loads(_stemma.run_status(self.path))

    def status(self) -> Dict[int, str]:
        """Each planned item's state, by content: ``verified`` (present, intact, its content id as recorded),
        ``produced`` (present and the run's, no id recorded), ``damaged`` (truncated, bad CRC), ``mismatched``
        (another content than recorded), ``foreign`` (another run's), ``missing`` (absent though later items are
        present) or ``planned`` (not made yet)."""
        self._states = {item["index"]: item["status"] for item in self.status_report()["items"]}
        return dict(self._states)

    def resume_point(self) -> Optional[int]:
        """The first planned item to redo (not verified or produced), or None when all are good."""
        return self.status_report().get("first_to_redo")

    def __repr__(self) -> str:
        produced = len(self.manifest.get("produced", []))
        return f"Run({self.name!r}, {self.folder!r}, id={self.id!r}, items={produced}/{self.count})"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
