"""runtime/model_store.py: versions, atomic writes, the active pointer, the exported source model."""

from __future__ import annotations

import json

import pytest

import models.export
from models.regressor import load_regressor
from runtime.model_store import SOURCE, ModelStore
from runtime.site_ids import BadSiteId
from tests.service_helpers import tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "source.pt")


@pytest.fixture(scope="module")
def regressor(checkpoint):
    return load_regressor(checkpoint)


@pytest.fixture(scope="module")
def written(tmp_path_factory, checkpoint, regressor):
    """A store with one version written (a real export) for site "lobby"; not activated."""
    store = ModelStore(tmp_path_factory.mktemp("artifacts"), checkpoint)
    version = store.write_version("lobby", regressor, SOURCE, {"iou": 0.5}, {"iterations": 3})
    return store, version


def visible_entries(store: ModelStore, site: str) -> list[str]:
    folder = store.site_dir(site) / "versions"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- versions -------------------------------------------------------------------------------------
def test_a_new_site_has_only_the_source_version_and_it_is_active(tmp_path, checkpoint):
    store = ModelStore(tmp_path, checkpoint)
    (source,) = store.versions("fresh")
    assert source.id == SOURCE and source.parent is None and source.health is None
    assert source.onnx == str(store.base_onnx())
    assert store.active("fresh") == SOURCE
    assert not store.site_dir("fresh").exists()  # reading makes no folders


def test_write_version_lists_the_new_version_after_source_with_its_metadata(written):
    store, version = written
    ids = [v.id for v in store.versions("lobby")]
    assert ids == [SOURCE, version.id]
    assert version.id.startswith("v") and version.parent == SOURCE
    assert store.get("lobby", version.id) == version
    assert version.health == {"iou": 0.5} and version.report == {"iterations": 3}
    folder = store.version_dir("lobby", version.id)
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.onnx", "regressor.pt"]
    assert json.loads((folder / "meta.json").read_text()) == version.as_dict()
    assert version.onnx == str(folder / "model.onnx")
    assert store.checkpoint("lobby", version.id) == folder / "regressor.pt"
    assert store.checkpoint("lobby", SOURCE) == store.source_checkpoint
    assert visible_entries(store, "lobby") == [version.id]  # no temporary folder left behind
    assert store.active("lobby") == SOURCE  # written, not activated


def test_a_written_checkpoint_loads_back(written, regressor):
    store, version = written
    back = load_regressor(store.checkpoint("lobby", version.id))
    assert back.config == regressor.config


def test_a_failing_export_leaves_no_version_and_no_temporary_folder(tmp_path, checkpoint, regressor, monkeypatch):
    store = ModelStore(tmp_path, checkpoint)

    def broken_export(regressor, path, opset=17, flip=True):
        path.write_bytes(b"half a graph")
        raise RuntimeError("export failed")

    monkeypatch.setattr(models.export, "export_onnx", broken_export)
    with pytest.raises(RuntimeError, match="export failed"):
        store.write_version("lobby", regressor, SOURCE, None, None)
    assert [v.id for v in store.versions("lobby")] == [SOURCE]
    assert visible_entries(store, "lobby") == []
    assert store.active("lobby") == SOURCE


def test_a_hidden_half_written_folder_is_never_listed(written):
    store, version = written
    hidden = store.site_dir("lobby") / "versions" / ".tmp-v20990101T000000-abcdef"
    hidden.mkdir()
    try:
        (hidden / "meta.json").write_text(json.dumps({**version.as_dict(), "id": "v20990101T000000-abcdef"}))
        assert [v.id for v in store.versions("lobby")] == [SOURCE, version.id]
    finally:
        (hidden / "meta.json").unlink()
        hidden.rmdir()


def test_a_folder_without_meta_is_not_a_version(written):
    store, version = written
    stray = store.site_dir("lobby") / "versions" / "v20990101T000000-000000"
    stray.mkdir()
    try:
        assert [v.id for v in store.versions("lobby")] == [SOURCE, version.id]
        with pytest.raises(KeyError):
            store.activate("lobby", stray.name)
    finally:
        stray.rmdir()


# -- the active pointer ---------------------------------------------------------------------------
def test_activate_moves_the_pointer_and_back_to_source(written):
    store, version = written
    try:
        assert store.activate("lobby", version.id) == version
        assert store.active("lobby") == version.id
        store.activate("lobby", SOURCE)
        assert store.active("lobby") == SOURCE
    finally:
        store.activate("lobby", SOURCE)


@pytest.mark.parametrize("unknown", ["v20990101T000000-ffffff", "v1", "../active", "nonsense", ""])
def test_activate_of_an_unknown_version_raises_key_error_and_leaves_the_pointer(written, unknown):
    store, version = written
    try:
        store.activate("lobby", version.id)
        with pytest.raises(KeyError):
            store.activate("lobby", unknown)
        assert store.active("lobby") == version.id
    finally:
        store.activate("lobby", SOURCE)


def test_the_pointer_is_per_site(written):
    store, version = written
    try:
        store.activate("lobby", version.id)
        assert store.active("garage") == SOURCE
        with pytest.raises(KeyError):
            store.activate("garage", version.id)  # lobby's version is not garage's
    finally:
        store.activate("lobby", SOURCE)


# -- ids ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../lobby", "Lobby", "", "a/b", ".hidden", "lobby\n"])
def test_bad_site_ids_are_refused_everywhere(tmp_path, checkpoint, regressor, bad):
    store = ModelStore(tmp_path, checkpoint)
    for call in (
        lambda: store.site_dir(bad),
        lambda: store.versions(bad),
        lambda: store.active(bad),
        lambda: store.activate(bad, SOURCE),
        lambda: store.snapshot_path(bad, "job"),
        lambda: store.version_dir(bad, "v1"),
        lambda: store.write_version(bad, regressor, SOURCE, None, None),
    ):
        with pytest.raises(BadSiteId):
            call()
    assert not (tmp_path / "sites").exists()


@pytest.mark.parametrize("bad", ["../../base", "v1/../../x", "v1/x", "x1", "", ".tmp-v1", "v1 x", "v"])
def test_bad_version_ids_are_refused(tmp_path, checkpoint, bad):
    store = ModelStore(tmp_path, checkpoint)
    with pytest.raises(KeyError):
        store.version_dir("lobby", bad)
    with pytest.raises(KeyError):
        store.checkpoint("lobby", bad)


def test_good_version_ids_name_folders_inside_the_site(tmp_path, checkpoint):
    store = ModelStore(tmp_path, checkpoint)
    assert store.version_dir("lobby", "v20260101T000000-abc123") == store.site_dir("lobby") / "versions" / (
        "v20260101T000000-abc123"
    )
    assert store.version_dir("lobby", SOURCE) == store.base_dir()


# -- the exported source model --------------------------------------------------------------------
def test_ensure_base_exports_once(tmp_path, checkpoint, monkeypatch):
    store = ModelStore(tmp_path, checkpoint)
    assert not store.base_ready()
    onnx = store.ensure_base()
    assert onnx == store.base_onnx() and onnx.stat().st_size > 0 and store.base_ready()
    assert [p.name for p in store.base_dir().iterdir()] == ["model.onnx"]  # no temporary left
    mtime = onnx.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("the source model was exported twice")

    monkeypatch.setattr(models.export, "export_onnx", no_export)
    assert store.ensure_base() == onnx
    assert onnx.stat().st_mtime_ns == mtime
    again = ModelStore(tmp_path, checkpoint)  # another process on the same store
    assert again.base_ready() and again.ensure_base() == onnx
    assert onnx.stat().st_mtime_ns == mtime


def test_the_base_folder_is_keyed_by_the_checkpoints_contents(tmp_path, checkpoint):
    copy = tmp_path / "copy.pt"
    copy.write_bytes(checkpoint.read_bytes())
    other = tmp_path / "other.pt"
    other.write_bytes(checkpoint.read_bytes() + b"\0")
    root = tmp_path / "artifacts"
    assert ModelStore(root, copy).base_dir() == ModelStore(root, checkpoint).base_dir()
    assert ModelStore(root, other).base_dir() != ModelStore(root, checkpoint).base_dir()
    # A graph answering with flip averaging and one answering without are different graphs.
    assert ModelStore(root, checkpoint, flip_average=False).base_dir() != ModelStore(root, checkpoint).base_dir()


@pytest.mark.parametrize("flip", [True, False])
def test_the_store_exports_every_graph_as_it_was_told_to_answer(tmp_path, checkpoint, monkeypatch, flip):
    asked = []

    def export(regressor, path, opset=17, flip=True):
        asked.append(flip)
        path.write_bytes(b"graph")
        return path

    monkeypatch.setattr(models.export, "export_onnx", export)
    store = ModelStore(tmp_path, checkpoint, flip_average=flip)
    store.ensure_base()
    store.write_version("lobby", load_regressor(checkpoint), SOURCE, None, None)
    assert asked == [flip, flip]
