"""service/inference.py: ModelServer over a real ModelStore: serving, hot swaps, bad versions, the LRU cap."""

from __future__ import annotations

import copy
import json
import os
import time

import numpy as np
import pytest
import torch

from models.onnx_runtime import CPU
from models.regressor import load_regressor
from runtime.model_store import SOURCE, ModelStore, ModelVersion
from service.inference import LoadedModel, ModelServer, load_model
from tests.service_helpers import tiny_checkpoint

CROPS = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with the source exported; every site's pointer starts at the source."""
    root = tmp_path_factory.mktemp("inference")
    store = ModelStore(root / "artifacts", tiny_checkpoint(root / "source.pt"))
    store.ensure_base()
    return store


@pytest.fixture(scope="module")
def adapted(store):
    """A real version of site "swap": the source with a different camera bias (its outputs differ)."""
    regressor = copy.deepcopy(load_regressor(store.source_checkpoint))
    with torch.no_grad():
        regressor.head[-1].bias[-3] += 0.3  # the camera's scale
    return store.write_version("swap", regressor, SOURCE, {"iou": 0.9}, None)


def craft_version(store: ModelStore, site: str, k: int, onnx: bytes | None = None) -> str:
    """A version folder as write_version leaves one: the source graph (hard-linked) or ``onnx`` bytes."""
    vid = f"v20260101T0000{k:02d}-{site[:6].encode().hex()[:6]}"
    folder = store.version_dir(site, vid)
    folder.mkdir(parents=True)
    if onnx is None:
        os.link(store.base_onnx(), folder / "model.onnx")
    else:
        (folder / "model.onnx").write_bytes(onnx)
    meta = ModelVersion(id=vid, site=site, created=time.time(), parent=SOURCE, health=None, onnx="")
    (folder / "meta.json").write_text(json.dumps(meta.as_dict()))
    return vid


def make_server(store: ModelStore, max_loaded: int = 8, poll_s: float = 3600.0):
    """A started server whose watcher stays asleep unless ``poll_s`` is short: the tests refresh by hand."""
    server = ModelServer(store, [CPU], max_loaded=max_loaded, poll_s=poll_s)
    server.start()
    return server


@pytest.fixture
def server(store):
    server = make_server(store)
    yield server
    server.stop()


def test_load_model_reads_the_input_size_and_provider(store):
    model = load_model(str(store.base_onnx()), SOURCE, [CPU])
    assert isinstance(model, LoadedModel) and model.version == SOURCE
    assert model.image_size == 64 and model.provider == CPU
    out = model.run(CROPS)
    assert out["pose"].shape == (2, 72) and out["betas"].shape == (2, 10) and out["camera"].shape == (2, 3)
    assert out["joints"].shape == (2, 24, 3) and out["vertices"].shape[::2] == (2, 3)


def test_a_new_site_is_served_the_source(server):
    assert server.base is not None and server.base.version == SOURCE
    assert server.serving_version("new-site") is None
    assert server.model_for("new-site") is server.base
    assert server.serving_version("new-site") == SOURCE
    assert server.swaps == 0 and server.load_failures == 0


def test_refresh_after_activating_a_version_swaps_and_requests_in_flight_keep_the_old_model(store, adapted, server):
    site = "swap"
    old = server.model_for(site)
    before = old.run(CROPS)
    store.activate(site, adapted.id)
    try:
        assert server.model_for(site) is old  # nothing changes until a refresh
        new = server.refresh(site)
        assert new.version == adapted.id and server.model_for(site) is new
        assert server.serving_version(site) == adapted.id and server.swaps == 1
        after = new.run(CROPS)
        assert not np.allclose(after["camera"], before["camera"])  # really the other graph
        np.testing.assert_array_equal(old.run(CROPS)["camera"], before["camera"])  # the old one still runs
        assert server.refresh(site) is new and server.swaps == 1  # no change, no swap
        store.activate(site, SOURCE)
        assert server.refresh(site) is server.base and server.swaps == 2  # rollback
    finally:
        store.activate(site, SOURCE)


def test_the_watcher_swaps_by_itself(store, adapted):
    server = make_server(store, poll_s=0.05)
    try:
        assert server.model_for("swap").version == SOURCE
        store.activate("swap", adapted.id)
        deadline = time.monotonic() + 20
        while server.serving_version("swap") != adapted.id and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.serving_version("swap") == adapted.id and server.swaps == 1
    finally:
        server.stop()
        store.activate("swap", SOURCE)


def test_wait_for_answers_whether_the_version_is_served(store, server):
    good = craft_version(store, "waiting", 1)
    assert server.wait_for("waiting", SOURCE, timeout=1)
    store.activate("waiting", good)
    assert server.wait_for("waiting", good, timeout=10)
    assert not server.wait_for("waiting", SOURCE, timeout=0.2)


@pytest.mark.parametrize("garbage", [b"not an onnx graph", b""])
def test_a_corrupt_version_is_never_published_and_counted(store, server, garbage):
    site = f"corrupt-{len(garbage)}"
    good = craft_version(store, site, 1)
    bad = craft_version(store, site, 2, onnx=garbage)
    assert server.model_for(site) is server.base
    store.activate(site, bad)
    assert server.refresh(site) is server.base  # still the source
    assert server.serving_version(site) == SOURCE and server.load_failures == 1 and server.swaps == 0
    store.activate(site, good)
    served = server.refresh(site)
    assert served.version == good and server.swaps == 1
    store.activate(site, bad)  # from a good version, too, the site keeps what it had
    assert server.refresh(site) is served
    assert server.serving_version(site) == good and server.load_failures == 2 and server.swaps == 1
    assert server.model_for(site).run(CROPS)["pose"].shape == (2, 72)


def test_the_cap_evicts_the_least_recently_used_version_that_no_site_serves(store):
    server = make_server(store, max_loaded=2)
    try:
        va, vb = craft_version(store, "lru-a", 1), craft_version(store, "lru-b", 1)
        store.activate("lru-a", va)
        first = server.refresh("lru-a")
        assert server.loaded_versions() == 2  # the source and va
        store.activate("lru-a", SOURCE)
        server.refresh("lru-a")  # va is loaded but serves no site now
        store.activate("lru-b", vb)
        server.refresh("lru-b")
        assert server.loaded_versions() == 2  # va went: the source and vb remain
        store.activate("lru-a", va)
        again = server.refresh("lru-a")
        assert again.version == va and again is not first  # loaded afresh
    finally:
        server.stop()


def test_the_cap_never_evicts_the_active_ones(store):
    server = make_server(store, max_loaded=2)
    sites = ["pin-a", "pin-b", "pin-c"]
    try:
        served = {}
        for site in sites:
            store.activate(site, craft_version(store, site, 1))
            served[site] = server.refresh(site)
        # Three sites serve three versions and the source is always kept: the cap yields to them.
        assert server.loaded_versions() == 4
        for site in sites:
            assert server.model_for(site) is served[site]
            store.activate(site, SOURCE)
            server.refresh(site)
            store.activate(site, served[site].version)
            assert server.refresh(site) is served[site]  # still loaded: no second session
    finally:
        server.stop()
