"""stemma.Run: a manifest of a generation run, written as frames are saved, and resumed from the content."""

import json

import numpy as np
import pytest

import stemma


def frame(i):
    return np.full((16, 16, 3), (i * 37) % 256, np.uint8)


def test_a_run_records_frames_and_resumes_at_the_first_damaged_one(tmp_path):
    settings = {"prompt": "a forest", "steps": 20, "fps": 12}
    run = stemma.Run("forest", tmp_path, generator="notebook", settings=settings, count=6)
    for i in range(6):
        run.save(frame(i), prompt="a forest", seed=1000 + i, patch={"strength": 0.6 + i / 100})
    assert run.resume_point() is None

    manifest = json.loads((tmp_path / "forest.stemma-run.json").read_text())
    assert manifest["stemma_run"] == "1.0" and manifest["id"] == run.id
    assert manifest["settings"] == {"format": "stemma-params", "hash": stemma.settings_hash(settings)}
    # The base settings are kept once, by hash, in the settings store beside the manifest.
    stored = tmp_path / ".stemma" / "settings" / (manifest["settings"]["hash"].replace(":", "-") + ".json")
    assert json.loads(stored.read_text())["data"] == settings
    assert manifest["plan"]["count"] == 6
    assert [item["index"] for item in manifest["produced"]] == list(range(6))
    second_id = stemma.ids(tmp_path / "forest_00001.png")["pixels"]
    assert manifest["produced"][1] == {"index": 1, "id": second_id, "file": "forest_00001.png"}
    third = stemma.read(tmp_path / "forest_00002.png")
    assert third["sequence"] == {"id": run.id, "frame": 2}
    assert third["run"] == {"id": run.id, "settings": manifest["settings"]["hash"], "index": 2}
    assert third["parents"] == [{"id": second_id, "relation": "previous_frame", "hint": "forest_00001.png"}]
    assert manifest["plan"]["items"][2] == {"index": 2, "seed": "1002", "patch": {"strength": 0.62}, "parents": [second_id]}
    assert run.item(2)["patch"] == {"strength": 0.62} and run.item(2)["seed"] == "1002"

    # Frame 3 is truncated, frame 4 replaced by another image (placed by the manifest's file name, its content is
    # not the one recorded): the run goes on from frame 3.
    data = (tmp_path / "forest_00003.png").read_bytes()
    (tmp_path / "forest_00003.png").write_bytes(data[: len(data) - 20])
    stemma.save(frame(99), tmp_path / "forest_00004.png", prompt="someone else's")
    reopened = stemma.Run("forest", tmp_path, settings=settings)
    assert reopened.id == run.id
    assert reopened.status() == {0: "verified", 1: "verified", 2: "verified", 3: "damaged", 4: "mismatched", 5: "verified"}
    assert reopened.resume_point() == 3

    reopened.save(frame(3), prompt="a forest", seed=1003)
    assert reopened.resume_point() == 4
    (tmp_path / "forest_00004.png").unlink()
    assert reopened.status()[4] == "missing"
    reopened.save(frame(4), prompt="a forest", seed=1004)
    assert reopened.resume_point() is None


def test_a_run_not_yet_produced_resumes_at_zero_and_refuses_other_settings(tmp_path):
    run = stemma.Run("r", tmp_path, settings={"a": 1}, count=3)
    assert run.resume_point() == 0
    run.save(frame(0))
    assert run.resume_point() == 1
    with pytest.raises(stemma.RecordError, match="other settings"):
        stemma.Run("r", tmp_path, settings={"a": 2})
    with pytest.raises(IndexError):
        run.save(frame(9), index=3)


def test_a_broken_manifest_is_named(tmp_path):
    (tmp_path / "bad.stemma-run.json").write_text("{not json")
    with pytest.raises(stemma.RecordError, match="bad.stemma-run.json"):
        stemma.Run("bad", tmp_path)


def test_jpeg_frames_link_by_data_id(tmp_path):
    run = stemma.Run("j", tmp_path, settings={}, count=2, pattern="{name}_{index:03d}.jpg")
    run.save(frame(0), quality=90)
    record = run.save(frame(1), quality=90)
    first = run.item(0)
    # A JPEG has no pixel id: the content id recorded is its data id.
    assert first["id"] == stemma.ids(tmp_path / "j_000.jpg")["data"]
    assert record["parents"] == [{"id": first["id"], "relation": "previous_frame", "hint": "j_000.jpg"}]
    assert run.resume_point() is None


def test_an_open_ended_run_grows_its_plan(tmp_path):
    run = stemma.Run("open", tmp_path, settings={"a": 1})
    assert run.count is None and run.resume_point() is None and run.next_index() == 0
    run.save(frame(0))
    run.save(frame(1))
    assert run.next_index() == 2
    assert [item["index"] for item in run.items] == [0, 1]
    assert run.status() == {0: "verified", 1: "verified"}


def test_the_cli_agrees_with_run_status_after_a_crash(tmp_path, cli):
    run = stemma.Run("crash", tmp_path, generator="notebook", settings={"prompt": "a crash"}, count=8)
    for i in range(5):
        run.save(frame(i), prompt="a crash", seed=i)
    # The process died while writing frame 3 over again: the file is cut short.
    data = (tmp_path / "crash_00003.png").read_bytes()
    (tmp_path / "crash_00003.png").write_bytes(data[: len(data) // 2])

    states = stemma.Run("crash", tmp_path).status()
    assert states == {0: "verified", 1: "verified", 2: "verified", 3: "damaged", 4: "verified",
                      5: "planned", 6: "planned", 7: "planned"}
    assert run.resume_point() == 3
    out = cli.run("run", "status", "--json", run.path, check=False)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["run"] == run.id
    assert {item["index"]: item["status"] for item in report["items"]} == states
    assert report["first_to_redo"] == 3 and report["last_good"] == 2
    # The human form names the same resume point.
    assert "first item to redo: 3" in cli.run("run", "status", run.path, check=False).stdout
