"""service/sites.py: the bounded crop buffer and the site registry."""

from __future__ import annotations

import time

import numpy as np
import pytest

from models.people.finder import FinderConfig
from runtime.site_ids import BadSiteId
from service.sites import BufferedCrop, BufferLimits, CropBuffer, SiteRegistry

S, s = 4, 2  # image and silhouette sides of the hand-made crops
ITEM_BYTES = S * S * 3 + s * s  # uint8 image + bool silhouette
ROOMY = BufferLimits(max_crops=100, max_bytes=10**6, max_age_s=3600.0)


def item(k: int, t: float | None = None) -> BufferedCrop:
    """Crop number ``k``: its pixels and square say which one it is."""
    return BufferedCrop(
        time=time.time() if t is None else t,
        frame_index=10 + k,
        image=np.full((S, S, 3), k, np.uint8),
        silhouette=np.eye(s, dtype=bool) if k % 2 else np.ones((s, s), bool),
        square=(float(k), 2.0 * k, 30.0 + k),
        approach=(k % 3) - 1,
    )


def buffered_ids(buffer: CropBuffer) -> list[int]:
    return [int(i) - 10 for i in buffer.snapshot().frame_index]


def test_an_item_counts_its_image_and_silhouette_bytes():
    assert item(0).nbytes == ITEM_BYTES
    buffer = CropBuffer(ROOMY)
    for k in range(3):
        buffer.add(item(k))
    assert len(buffer) == 3 and buffer.nbytes == 3 * ITEM_BYTES


def test_count_bound_evicts_the_oldest_first():
    buffer = CropBuffer(BufferLimits(max_crops=3, max_bytes=10**6, max_age_s=3600.0))
    for k in range(5):
        buffer.add(item(k))
    assert len(buffer) == 3 and buffered_ids(buffer) == [2, 3, 4]
    assert buffer.nbytes == 3 * ITEM_BYTES


def test_byte_bound_evicts_the_oldest_first():
    buffer = CropBuffer(BufferLimits(max_crops=100, max_bytes=2 * ITEM_BYTES + ITEM_BYTES // 2, max_age_s=3600.0))
    for k in range(4):
        buffer.add(item(k))
    assert buffered_ids(buffer) == [2, 3] and buffer.nbytes == 2 * ITEM_BYTES


def test_a_byte_bound_below_one_item_keeps_nothing():
    buffer = CropBuffer(BufferLimits(max_crops=100, max_bytes=ITEM_BYTES - 1, max_age_s=3600.0))
    buffer.add(item(0))
    assert len(buffer) == 0 and buffer.nbytes == 0


def test_age_bound_evicts_crops_older_than_the_limit():
    now = time.time()
    buffer = CropBuffer(BufferLimits(max_crops=100, max_bytes=10**6, max_age_s=60.0))
    buffer.add(item(0, t=now - 600))  # already too old when it arrives
    assert len(buffer) == 0
    buffer.add(item(1, t=now - 120))
    buffer.add(item(2, t=now - 30))
    buffer.add(item(3, t=now))
    assert buffered_ids(buffer) == [2, 3] and buffer.nbytes == 2 * ITEM_BYTES


def test_snapshot_keeps_arrival_order_and_stacks_every_field():
    buffer = CropBuffer(ROOMY)
    for k in range(3):
        buffer.add(item(k))
    snap = buffer.snapshot()
    assert len(snap) == 3
    assert snap.images.shape == (3, S, S, 3) and snap.images.dtype == np.uint8
    assert snap.silhouettes.shape == (3, s, s) and snap.silhouettes.dtype == bool
    assert snap.squares.shape == (3, 3) and snap.squares.dtype == np.float64
    assert snap.frame_index.tolist() == [10, 11, 12]
    for k in range(3):
        np.testing.assert_array_equal(snap.images[k], item(k).image)
        np.testing.assert_array_equal(snap.silhouettes[k], item(k).silhouette)
        assert tuple(snap.squares[k]) == item(k).square
    assert snap.approach.tolist() == [item(k).approach for k in range(3)] == [-1, 0, 1]


def test_snapshot_is_a_copy_of_the_buffer():
    buffer = CropBuffer(ROOMY)
    buffer.add(item(1))
    snap = buffer.snapshot()
    buffer.add(item(2))
    buffer.clear()
    assert len(snap) == 1 and snap.images[0, 0, 0, 0] == 1


def test_snapshot_of_an_empty_buffer_is_refused():
    with pytest.raises(ValueError, match="empty"):
        CropBuffer(ROOMY).snapshot()


def test_clear_returns_how_many_it_deleted_and_empties_everything():
    buffer = CropBuffer(ROOMY)
    for k in range(4):
        buffer.add(item(k))
    assert buffer.clear() == 4
    assert len(buffer) == 0 and buffer.nbytes == 0
    with pytest.raises(ValueError):
        buffer.snapshot()
    assert buffer.clear() == 0
    buffer.add(item(5))  # still usable afterwards
    assert buffered_ids(buffer) == [5] and buffer.nbytes == ITEM_BYTES


# -- the registry ---------------------------------------------------------------------------------
def registry(warmup: int = 7) -> SiteRegistry:
    return SiteRegistry(FinderConfig.with_warmup(warmup), ROOMY)


def test_get_makes_a_site_once_with_the_registrys_settings():
    sites = registry(warmup=7)
    site = sites.get("lobby-1")
    assert sites.get("lobby-1") is site
    assert site.id == "lobby-1" and site.frames_seen == 0
    assert site.finder.config.foreground.warmup_frames == 7 and site.finder.warming_up
    assert site.buffer.limits == ROOMY and len(site.buffer) == 0
    assert sites.ids() == ["lobby-1"]


def test_each_site_has_its_own_buffer():
    sites = registry()
    sites.get("a").buffer.add(item(0))
    assert len(sites.get("a").buffer) == 1 and len(sites.get("b").buffer) == 0
    assert sites.ids() == ["a", "b"]


def test_find_never_makes_a_site():
    sites = registry()
    assert sites.find("lobby") is None
    assert sites.ids() == []
    made = sites.get("lobby")
    assert sites.find("lobby") is made


@pytest.mark.parametrize(
    "bad", ["", "Lobby", "../etc", "a/b", "-lead", "_lead", "x" * 64, "caf\u00e9", "a b", "lobby\n", "lobby\r\n"]
)
def test_bad_site_ids_are_refused_and_nothing_is_made(bad):
    sites = registry()
    with pytest.raises(BadSiteId):
        sites.get(bad)
    with pytest.raises(BadSiteId):
        sites.find(bad)
    assert sites.ids() == []


@pytest.mark.parametrize("good", ["a", "0", "lobby_1-b", "x" * 63])
def test_good_site_ids_are_accepted(good):
    assert registry().get(good).id == good


def test_a_saved_snapshot_loads_with_every_field_and_an_old_one_with_walks_unknown(tmp_path):
    """The snapshot a job's worker reads (runtime.adaptation_job) keeps each crop's walk; one saved
    before walks were kept loads with every walk unknown."""
    from runtime.adaptation_job import load_snapshot, save_snapshot

    buffer = CropBuffer(ROOMY)
    for k in range(3):
        buffer.add(item(k))
    snap = buffer.snapshot()
    save_snapshot(tmp_path / "s.npz", snap)
    back = load_snapshot(tmp_path / "s.npz")
    for name in ("images", "silhouettes", "frame_index", "squares", "approach"):
        np.testing.assert_array_equal(getattr(back, name), getattr(snap, name))
    old = {k: getattr(snap, k) for k in ("images", "silhouettes", "frame_index", "squares")}
    np.savez(tmp_path / "old.npz", **old)
    assert load_snapshot(tmp_path / "old.npz").approach.tolist() == [0, 0, 0]
