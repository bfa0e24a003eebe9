"""The ComfyUI node, called the way ComfyUI calls it (no ComfyUI installed)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import stemma

# Loaded from its folder as ComfyUI loads a custom node, without putting python/ on sys.path (which would shadow
# the installed stemma package with its source folder).
_NODE = Path(__file__).resolve().parents[1] / "comfyui_stemma" / "__init__.py"
_spec = importlib.util.spec_from_file_location("comfyui_stemma", _NODE)
comfyui_stemma = importlib.util.module_from_spec(_spec)
sys.modules["comfyui_stemma"] = comfyui_stemma
_spec.loader.exec_module(comfyui_stemma)


def test_the_node_is_registered_with_comfyuis_interface():
    assert comfyui_stemma.NODE_DISPLAY_NAME_MAPPINGS["SaveImageStemma"] == "Save Image (stemma)"
    node_class = comfyui_stemma.NODE_CLASS_MAPPINGS["SaveImageStemma"]
    inputs = node_class.INPUT_TYPES()
    assert inputs["required"]["images"][0] == "IMAGE"
    assert inputs["hidden"] == {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}
    assert node_class.OUTPUT_NODE is True and node_class.RETURN_TYPES == ()
    assert callable(getattr(node_class, node_class.FUNCTION))


def test_a_batch_is_saved_with_comfyuis_chunks_and_a_stemma_record(shared, cli, tmp_path):
    with Image.open(shared / "corpus/comfyui/img2img_cropped.png") as im:
        prompt = json.loads(im.info["prompt"])
        workflow = json.loads(im.info["workflow"])
    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    input_dir.mkdir()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(input_dir / "example.png")
    init_id = stemma.ids(input_dir / "example.png")["pixels"]

    node_class = comfyui_stemma.NODE_CLASS_MAPPINGS["SaveImageStemma"]
    node = node_class(output_dir=str(output_dir), input_dir=str(input_dir))
    images = np.random.default_rng(3).random((2, 24, 32, 3), dtype=np.float32)  # [B, H, W, C] in 0..1
    kwargs = {"images": images, "filename_prefix": "shots/fox", "prompt": prompt, "extra_pnginfo": {"workflow": workflow}}
    result = getattr(node, node_class.FUNCTION)(**kwargs)

    saved = result["ui"]["images"]
    assert [s["filename"] for s in saved] == ["fox_00001_.png", "fox_00002_.png"]
    assert all(s["subfolder"] == "shots" and s["type"] == "output" for s in saved)
    for batch_index, entry in enumerate(saved):
        path = output_dir / "shots" / entry["filename"]
        with Image.open(path) as im:
            assert json.loads(im.info["prompt"]) == prompt, "ComfyUI still loads the graph"
            assert json.loads(im.info["workflow"]) == workflow
            expected_pixels = np.clip(255.0 * images[batch_index], 0, 255).astype(np.uint8)
            assert np.array_equal(np.asarray(im), expected_pixels)
        [shown] = cli.show(path)
        assert shown["source"] == "stemma"
        record = shown["record"]
        assert record["prompt"]["positive"].startswith("photograph of victorian woman with wings")
        assert record["generator"]["name"] == "comfyui"
        assert record["parents"] == [{"id": init_id, "relation": "img2img", "hint": "example.png"}]
        assert record["run"]["index"] == batch_index
        assert record["run"]["id"] == "comfyui:" + stemma.settings_hash(prompt)

    # A second call goes on counting, as ComfyUI's SaveImage does; a sequence numbers the frames.
    again = node.save_images(images[:1], "shots/fox", sequence="walk", first_frame=10, prompt=prompt, extra_pnginfo={"workflow": workflow})
    name = again["ui"]["images"][0]["filename"]
    assert name == "fox_00003_.png"
    assert stemma.read(output_dir / "shots" / name)["sequence"] == {"id": "walk", "frame": 10}
    assert not [p for p in (output_dir / "shots").iterdir() if p.name.startswith(".stemma-")]


def test_without_a_graph_the_node_still_saves_an_image_with_a_record(tmp_path):
    node = comfyui_stemma.SaveImageStemma(output_dir=str(tmp_path))
    result = node.save_images(np.zeros((1, 4, 4, 3), np.float32), "plain")
    path = tmp_path / result["ui"]["images"][0]["filename"]
    assert stemma.show(path)["source"] == "stemma"


def test_a_prefix_leaving_the_output_folder_is_refused(tmp_path):
    node = comfyui_stemma.SaveImageStemma(output_dir=str(tmp_path / "out"))
    with pytest.raises(ValueError, match="outside"):
        node.save_images(np.zeros((1, 4, 4, 3), np.float32), "../escape")
