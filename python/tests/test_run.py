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
    assert manifest["id"] == run.id and manifest["settings_hash"] == stemma.settings_hash(settings)
    assert manifest["plan"]["count"] == 6
    assert [item["index"] for item in manifest["items"]] == list(range(6))
    third = stemma.read(tmp_path / "forest_00002.png")
    assert third["sequence"] == {"id": run.id, "frame": 2}
    assert third["run"] == {"id": run.id, "settings": manifest["settings_hash"], "index": 2}
    assert third["parents"] == [{"id": manifest["items"][1]["content"]["pixels"], "relation": "previous_frame", "hint": "forest_00001.png"}]
    assert manifest["items"][2]["patch"] == {"strength": 0.62}
    assert manifest["items"][2]["seed"] == "1002"

    # Frame 3 is truncated, frame 4 replaced by another image: the run goes on from frame 3.
    data = (tmp_path / "forest_00003.png").read_bytes()
    (tmp_path / "forest_00003.png").write_bytes(data[: len(data) - 20])
    stemma.save(frame(99), tmp_path / "forest_00004.png", prompt="someone else's")
    reopened = stemma.Run("forest", tmp_path, settings=settings)
    assert reopened.id == run.id
    assert reopened.status() == {0: "verified", 1: "verified", 2: "verified", 3: "damaged", 4: "damaged", 5: "verified"}
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
    assert first["content"]["pixels"] is None
    assert record["parents"] == [{"id": first["content"]["data"], "relation": "previous_frame", "hint": "j_000.jpg"}]
    assert run.resume_point() is None
