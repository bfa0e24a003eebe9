"""Reading from Python gives what the command gives."""

import json
import shutil
import subprocess

import pytest

import stemma
from conftest import copy_writable


@pytest.mark.parametrize("rel", ["corpus/a1111/forge.png", "corpus/a1111/sd-webui.jpg", "corpus/comfyui/comfyui-hires.png", "corpus/comfyui/img2img_cropped.png"])
def test_read_and_show_match_the_command(shared, cli, rel):
    path = str(shared / rel)
    [expected] = cli.show(path)
    assert stemma.show(path) == expected
    record = stemma.read(path)
    assert record == expected["record"]
    assert record is not None and isinstance(record["params"]["seed"], str)


def test_a_stamped_jpeg_reads_as_its_stemma_record(shared, cli, tmp_path):
    path = tmp_path / "stamped.jpg"
    copy_writable(shared / "corpus/a1111/sd-webui.jpg", path)
    cli.run("stamp", path, "--prompt", "a lighthouse at dusk", "--seed", "18446744073709551615")
    [expected] = cli.show(path)
    assert expected["source"] == "stemma"
    envelope = stemma.show(path)
    assert envelope == expected
    record = stemma.read(path)
    assert record == expected["record"]
    assert record["prompt"]["positive"] == "a lighthouse at dusk"
    assert record["params"]["seed"] == "18446744073709551615"


def test_read_without_import_sees_only_stemma_records(shared):
    assert stemma.read(shared / "corpus/a1111/forge.png", import_metadata=False) is None


def test_scan_yields_the_envelopes_of_the_command_in_order(shared, cli, tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    for rel in ["corpus/a1111/forge.png", "corpus/comfyui/comfyui-hires.png", "corpus/a1111/sd-webui.webp"]:
        copy_writable(shared / rel, folder)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (folder / "notes.txt").write_text("not an image")
    got = list(stemma.scan(folder))
    expected = cli.show(folder)
    assert [e["file"] for e in got] == [e["file"] for e in expected]
    assert len(got) == 4
    assert got == expected
    assert "error" in next(e for e in got if e["file"].endswith("broken.png"))


def test_ids_are_those_of_the_command(shared, cli):
    path = shared / "corpus/a1111/forge.png"
    out = cli.run("id", "--json", path).stdout
    import json

    expected = json.loads(out)
    assert stemma.ids(path) == {"pixels": expected["pixels"], "data": expected["data"]}
    assert stemma.ids(path, pixels=False)["pixels"] is None


def test_find_gives_what_the_command_finds(shared, cli, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for rel in ["corpus/a1111/forge.png", "corpus/comfyui/comfyui-hires.png"]:
        copy_writable(shared / rel, library)
    cli.run("init", library)
    cli.run("scan", library)
    expected = [
        json.loads(line)
        for line in subprocess.run(
            [cli.bin, "find", "--json", "generator:comfyui"], cwd=library, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    ]
    assert len(expected) == 1
    assert stemma.find("generator:comfyui", library=library) == expected
    assert len(stemma.find(library=library)) == 2
    assert len(stemma.find(library=library, limit=1)) == 1
    with pytest.raises(stemma.CatalogError):
        stemma.find("(steps:20", library=library)


def test_find_without_a_catalog_says_what_to_do(tmp_path):
    with pytest.raises(stemma.CatalogError) as missing:
        stemma.find("cat", library=tmp_path)
    assert "stemma init" in str(missing.value)


def test_threads_read_in_parallel_and_agree(shared):
    from concurrent.futures import ThreadPoolExecutor

    paths = [shared / "corpus/a1111/forge.png", shared / "corpus/comfyui/comfyui-hires.png"] * 8
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(stemma.read, paths))
    assert got == [stemma.read(p) for p in paths]
