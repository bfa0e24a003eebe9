"""ComfyUI custom node: "Save Image (stemma)".

Copy or link this folder into ``ComfyUI/custom_nodes/`` and install the ``stemma`` package into ComfyUI's Python
(``pip install <repo>/python``). The node writes each image of the batch as ComfyUI's SaveImage does (PNG with the
``prompt`` and ``workflow`` text chunks, so ComfyUI still loads the graph from the file), then stamps the stemma
record into it: the record is built by stemma's ComfyUI importer from those chunks (the same graph walk as
``stemma import``), its ``LoadImage`` parents are resolved to content ids from ComfyUI's input folder, and the
batch index and an optional sequence are added.

It imports without ComfyUI: ``folder_paths`` is optional, and the folders can be given to the node's constructor.
"""

import json
import os
import re
import tempfile
from typing import Any, Dict, List, Optional

try:  # Only inside ComfyUI.
    import folder_paths  # type: ignore
except ImportError:  # pragma: no cover - depends on the host
    folder_paths = None

import numpy as np

import stemma

_ANNOTATION = re.compile(r"^(.*?)\s*\[(input|output|temp)\]$")


class SaveImageStemma:
    """Save images with ComfyUI's own metadata plus a stemma record."""

    def __init__(self, output_dir: Optional[str] = None, input_dir: Optional[str] = None):
        if output_dir is None and folder_paths is not None:
            output_dir = folder_paths.get_output_directory()
        if input_dir is None and folder_paths is not None:
            input_dir = folder_paths.get_input_directory()
        self.output_dir = output_dir or os.getcwd()
        self.input_dir = input_dir
        self.type = "output"
        self.compress_level = 4

    @classmethod
    def INPUT_TYPES(cls) -> Dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save."}),
                "filename_prefix": (
                    "STRING",
                    {"default": "stemma", "tooltip": "Prefix of the file names; may contain a subfolder."},
                ),
            },
            "optional": {
                "sequence": (
                    "STRING",
                    {"default": "", "tooltip": "A sequence id: the batch's images become its frames (frame = batch index + start)."},
                ),
                "first_frame": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFF, "tooltip": "Frame number of the first image of the batch."}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"
    DESCRIPTION = "Saves the images as PNG with ComfyUI's workflow and a stemma record (prompt, settings, lineage)."

    def save_images(
        self,
        images: Any,
        filename_prefix: str = "stemma",
        sequence: str = "",
        first_frame: int = 0,
        prompt: Optional[Dict[str, Any]] = None,
        extra_pnginfo: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        from PIL.PngImagePlugin import PngInfo

        batch = _as_numpy(images)
        if batch.ndim == 3:
            batch = batch[None]
        height, width = int(batch.shape[1]), int(batch.shape[2])
        folder, base, counter, subfolder = self._save_path(filename_prefix, width, height)
        parents = self._parents_of(prompt)
        run_id = None
        if prompt is not None:
            run_id = "comfyui:" + stemma.settings_hash(prompt)
        results: List[Dict[str, Any]] = []
        for batch_number, image in enumerate(batch):
            pil = stemma._to_pil(image)
            metadata = PngInfo()
            if prompt is not None:
                metadata.add_text("prompt", json.dumps(prompt))
            for key, value in (extra_pnginfo or {}).items():
                metadata.add_text(key, json.dumps(value))
            name = f"{base.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
            target = os.path.join(folder, name)
            self._write(pil, metadata, target, batch_number, parents, run_id, sequence, first_frame)
            results.append({"filename": name, "subfolder": subfolder, "type": self.type})
            counter += 1
        return {"ui": {"images": results}}

    def _write(self, pil, metadata, target, batch_number, parents, run_id, sequence, first_frame) -> None:
        """Encode with ComfyUI's chunks into a temporary file, import its record, stamp it into ``target``."""
        handle, temporary = tempfile.mkstemp(prefix=".stemma-save-", suffix=".png", dir=os.path.dirname(target))
        os.close(handle)
        try:
            pil.save(temporary, pnginfo=metadata, compress_level=self.compress_level)
            record = stemma.read(temporary) or {"stemma": "1.0"}
            record["parents"] = _merge_parents(record.get("parents", []), parents)
            run = {"index": batch_number}
            if run_id is not None:
                run["id"] = run_id
                record["run"] = run
            if sequence:
                record["sequence"] = {"id": sequence, "frame": int(first_frame) + batch_number}
            stemma.stamp(temporary, record, output=target)
        finally:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass

    def _save_path(self, prefix: str, width: int, height: int):
        """Folder, file name base, next counter and subfolder, as ComfyUI's ``folder_paths.get_save_image_path``."""
        if folder_paths is not None and hasattr(folder_paths, "get_save_image_path"):
            folder, base, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, self.output_dir, width, height)
            return folder, base, counter, subfolder
        prefix = prefix.replace("%width%", str(width)).replace("%height%", str(height))
        subfolder, base = os.path.split(os.path.normpath(prefix))
        folder = os.path.join(self.output_dir, subfolder)
        if os.path.commonpath((os.path.abspath(folder), os.path.abspath(self.output_dir))) != os.path.abspath(self.output_dir):
            raise ValueError(f"filename_prefix {prefix!r} leads outside the output folder")
        os.makedirs(folder, exist_ok=True)
        pattern = re.compile(re.escape(base) + r"_(\d+)_")
        numbers = [int(m.group(1)) for f in os.listdir(folder) if (m := pattern.match(f))] if os.path.isdir(folder) else []
        return folder, base, max(numbers, default=0) + 1, subfolder

    def _input_path(self, name: str) -> Optional[str]:
        """The file a ``LoadImage`` input names (``"a.png"``, ``"sub/a.png [input]"``), when it exists."""
        if folder_paths is not None and hasattr(folder_paths, "get_annotated_filepath"):
            try:
                path = folder_paths.get_annotated_filepath(name)
            except Exception:  # a malformed name: the parent stays a hint
                path = None
            return path if path and os.path.isfile(path) else None
        match = _ANNOTATION.match(name)
        kind = match.group(2) if match else "input"
        name = match.group(1) if match else name
        root = {"input": self.input_dir, "output": self.output_dir}.get(kind)
        if root is None:
            return None
        path = os.path.normpath(os.path.join(root, name))
        if os.path.commonpath((path, os.path.abspath(root))) != os.path.abspath(root):
            return None
        return path if os.path.isfile(path) else None

    def _parents_of(self, prompt: Optional[Dict[str, Any]]) -> Dict[str, str]:
        """Content ids of the images the graph's ``LoadImage`` nodes read, by the name the graph gives them."""
        ids: Dict[str, str] = {}
        for node in (prompt or {}).values():
            if not isinstance(node, dict) or node.get("class_type") not in ("LoadImage", "LoadImageMask"):
                continue
            name = (node.get("inputs") or {}).get("image")
            if not isinstance(name, str):
                continue
            path = self._input_path(name)
            if path is None:
                continue
            try:
                ids[name] = stemma._stemma.lineage_id(path)
            except stemma.StemmaError:
                continue  # an unreadable input stays a hint
        return ids


def _as_numpy(images: Any) -> np.ndarray:
    if hasattr(images, "detach"):  # torch, without importing it
        images = images.detach().cpu().numpy()
    return np.asarray(images)


def _merge_parents(found: List[Dict[str, Any]], ids: Dict[str, str]) -> List[Dict[str, Any]]:
    """The importer's parents, with the content id of each one whose file name the graph's inputs resolve."""
    out = []
    for parent in found:
        parent = dict(parent)
        hint = parent.get("hint")
        if not parent.get("id") and isinstance(hint, str):
            for name, content_id in ids.items():
                if hint == name or _ANNOTATION.sub(r"\1", name) == hint or os.path.basename(_ANNOTATION.sub(r"\1", name)) == hint:
                    parent["id"] = content_id
                    break
        out.append(parent)
    return out


NODE_CLASS_MAPPINGS = {"SaveImageStemma": SaveImageStemma}
NODE_DISPLAY_NAME_MAPPINGS = {"SaveImageStemma": "Save Image (stemma)"}
