from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.checkpoints import library

REPO = "models--meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8"


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _hf_snapshot(cache: Path, demo: Path, repo: str = REPO, rev: str = "abc123") -> Path:
    """The hub's layout: files in blobs/, symlinked from snapshots/REV/."""
    snapshot = cache / repo / "snapshots" / rev
    blobs = cache / repo / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir(exist_ok=True)
    for item in demo.iterdir():
        blob = blobs / f"{rev}-{item.name}"
        shutil.copyfile(item, blob)
        (snapshot / item.name).symlink_to(blob)
    return snapshot


def _other_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    config = {"architectures": ["MistralForCausalLM"], "model_type": "mistral"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_fp8: Path) -> Path:
    cache = tmp_path / "hub"
    _hf_snapshot(cache, demo_fp8)
    _other_model(cache / "models--mistralai--Mistral-7B" / "snapshots" / "def456")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_hub_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert library.hf_hub_cache() == tmp_path / "hf" / "hub"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert library.hf_hub_cache() == tmp_path / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert library.hf_hub_cache() == tmp_path / "elsewhere"


def test_finds_llama4_in_the_hub_cache_and_skips_other_models(hf_cache: Path) -> None:
    entries = library.discover()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.path == hf_cache / REPO / "snapshots" / "abc123"
    assert entry.source == "huggingface" and entry.ready and entry.problem == ""
    assert entry.architecture == "Llama4ForConditionalGeneration"
    assert entry.precision == "fp8 (compressed-tensors)"
    assert entry.total_parameters == 997_056 and 0 < entry.active_parameters < 997_056
    shards = sum(p.stat().st_size for p in entry.path.glob("*.safetensors"))
    assert entry.size_bytes == shards > 1_000_000
    assert entry.is_demo  # the marker travels with the files: the name says random weights
    assert "random weights" in entry.name


def test_a_second_revision_is_listed_with_its_revision(hf_cache: Path, demo_bf16: Path) -> None:
    _hf_snapshot(hf_cache, demo_bf16, rev="fedcba9876")
    names = sorted(e.path.name for e in library.discover())
    assert names == ["abc123", "fedcba9876"]


def test_user_folders_one_level_down_and_unsupported_models(
    tmp_path: Path, demo_bf16: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    models = tmp_path / "models"
    _copy(demo_bf16, models / "maverick-bf16")
    _other_model(models / "mistral")
    (models / "notes").mkdir()
    single = _copy(demo_bf16, tmp_path / "single")
    library.add_folder(models)
    library.add_folder(single)
    library.add_folder(models)  # twice is once
    assert library.load_settings().folders == [str(models.resolve()), str(single.resolve())]
    entries = {e.path.name: e for e in library.discover()}
    assert set(entries) == {"maverick-bf16", "mistral", "single"}
    assert entries["maverick-bf16"].ready and entries["maverick-bf16"].precision == "bf16"
    mistral = entries["mistral"]
    assert mistral.status == library.UNSUPPORTED and "MistralForCausalLM" in mistral.problem
    library.remove_folder(models)
    assert [e.path.name for e in library.discover()] == ["single"]
    with pytest.raises(library.LibraryError, match="not one of the library's folders"):
        library.remove_folder(models)


def test_missing_and_truncated_shards_are_incomplete(tmp_path: Path, demo_fp8: Path) -> None:
    missing = _copy(demo_fp8, tmp_path / "missing")
    (missing / "model-00003-of-00005.safetensors").unlink()
    entry = library.describe_checkpoint(missing)
    assert entry.status == library.INCOMPLETE and not entry.ready
    assert "1 of 5 weight shards" in entry.problem and "model-00003-of-00005" in entry.problem
    # Parameters still come from config.json, so the picker can show what is downloading.
    assert entry.total_parameters == 997_056

    truncated = _copy(demo_fp8, tmp_path / "truncated")
    shard = truncated / "model-00002-of-00005.safetensors"
    shard.write_bytes(shard.read_bytes()[:-1000])
    entry = library.describe_checkpoint(truncated)
    assert entry.status == library.INCOMPLETE
    assert "model-00002-of-00005.safetensors is truncated: 1,000 bytes" in entry.problem


def test_choice_is_remembered_in_a_versioned_file(
    tmp_path: Path, demo_bf16: Path, data_dir: Path
) -> None:
    assert library.chosen_model() is None
    entry = library.choose_model(demo_bf16)
    assert entry.ready and library.chosen_model() == demo_bf16.resolve()
    stored = json.loads((data_dir / library.SETTINGS_NAME).read_text(encoding="utf-8"))
    assert stored == {"format_version": 1, "folders": [], "chosen_model": str(demo_bf16.resolve())}
    assert [p.name for p in data_dir.iterdir()] == [library.SETTINGS_NAME]  # no temporary left


def test_an_incomplete_checkpoint_cannot_be_chosen(tmp_path: Path, demo_bf16: Path) -> None:
    broken = _copy(demo_bf16, tmp_path / "broken")
    (broken / "model-00001-of-00005.safetensors").unlink()
    with pytest.raises(library.LibraryError, match="Finish the download"):
        library.choose_model(broken)
    assert library.chosen_model() is None


def test_a_newer_settings_file_is_refused_and_left_alone(data_dir: Path, tmp_path: Path) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / library.SETTINGS_NAME
    text = json.dumps({"format_version": 2, "folders": ["/x"], "chosen_model": None})
    path.write_text(text, encoding="utf-8")
    with pytest.raises(library.LibraryError, match="newer version of Maverick Desk"):
        library.load_settings()
    with pytest.raises(library.LibraryError, match="newer version of Maverick Desk"):
        library.add_folder(tmp_path)
    assert path.read_text(encoding="utf-8") == text
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(library.LibraryError, match="cannot be read"):
        library.load_settings()
