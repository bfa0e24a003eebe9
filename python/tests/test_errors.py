"""Errors are exceptions of one hierarchy that name the file and the reason; nothing is half written."""

import shutil

import pytest

import stemma
from conftest import copy_writable


def test_a_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere.png"
    with pytest.raises(stemma.MissingFileError) as info:
        stemma.read(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, stemma.StemmaError)
    assert info.value.path == str(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(stemma.MissingFileError):
        stemma.show(missing)
    with pytest.raises(stemma.MissingFileError):
        stemma.stamp(missing, prompt="x")


def test_a_truncated_file_is_refused_and_left_untouched(shared, tmp_path):
    data = (shared / "corpus/a1111/forge.png").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(stemma.StemmaError) as info:
        stemma.stamp(cut, prompt="x")
    assert isinstance(info.value, stemma.DamagedFileError)
    assert "cut.png" in str(info.value)
    assert info.value.path == str(cut)
    assert cut.read_bytes() == data[: len(data) // 2]
    assert [p.name for p in tmp_path.iterdir()] == ["cut.png"], "no temporary file is left behind"


def test_a_file_that_is_no_image_is_unsupported(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(stemma.UnsupportedFormatError) as info:
        stemma.read(text)
    assert "notes.jpg" in str(info.value)


def test_a_bad_seed_is_a_record_error_before_anything_is_written(shared, tmp_path):
    path = tmp_path / "a.png"
    copy_writable(shared / "corpus/a1111/forge.png", path)
    before = path.read_bytes()
    with pytest.raises(stemma.RecordError):
        stemma.stamp(path, seed="twelve")
    with pytest.raises(stemma.RecordError):
        stemma.stamp(path, params={"steps": "many"})
    with pytest.raises(stemma.RecordError):
        stemma.stamp(path, frame=3)
    assert path.read_bytes() == before


def test_an_unknown_strip_profile_is_a_value_error(shared, tmp_path):
    path = tmp_path / "a.png"
    copy_writable(shared / "corpus/a1111/forge.png", path)
    with pytest.raises(ValueError, match="profile"):
        stemma.strip(path, profile="most")
