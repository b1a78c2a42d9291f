"""models/detail.py: how far a frame was blown up from the detail it holds, read on scenes with a
natural image's spectrum shrunk and blown back by known factors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.detail import LADDER, SiteDetail, blow_up, crop_detail_px, person_detail_px


def scene(seed: int, h: int = 240, w: int = 320) -> np.ndarray:
    """(H, W) uint8 luminance with the 1/f amplitude spectrum of photographs."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    image = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(h, w))) / f))
    return np.clip((image - image.mean()) / image.std() * 40 + 128, 0, 255).astype(np.uint8)


def blown(image: np.ndarray, factor: float) -> np.ndarray:
    """Shrunk by ``factor`` (area) and blown back up (bicubic): a camera with that much less detail."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sharp_frame_reads_one_and_a_blown_up_one_its_factor(seed):
    image = scene(seed)
    assert blow_up(image) == 1.0
    for factor in (1.5, 2.0, 3.0, 4.0):
        assert blow_up(blown(image, factor)) == factor
    # Further up the reading may fall one step short, never more, and never above the truth.
    readings = [blow_up(blown(image, factor)) for factor in (6.0, 8.0, 12.0)]
    for factor, read in zip((6.0, 8.0, 12.0), readings, strict=True):
        assert LADDER[LADDER.index(factor) - 1] <= read <= factor
    assert readings == sorted(readings)


def test_colour_reads_as_its_luminance_and_noise_on_a_sharp_frame_changes_nothing():
    image = scene(3)
    rgb = np.stack([image] * 3, -1)
    assert blow_up(rgb) == blow_up(image) == 1.0
    noise = np.random.default_rng(0).normal(0, 8, image.shape)
    assert blow_up(np.clip(image + noise, 0, 255).astype(np.uint8)) == 1.0
    # Noise on a blown-up frame reads as detail that is not there (a limit, docs in models/detail.py).
    blurred = blown(image, 4.0) + np.random.default_rng(1).normal(0, 4, image.shape)
    assert 1.0 < blow_up(np.clip(blurred, 0, 255).astype(np.uint8)) < 4.0


def test_a_flat_frame_reads_one_and_bad_frames_are_refused():
    assert blow_up(np.full((40, 50), 128, np.uint8)) == 1.0
    with pytest.raises(ValueError, match="too small"):
        blow_up(np.zeros((8, 50), np.uint8))
    with pytest.raises(ValueError, match="is \\(H, W\\)"):
        blow_up(np.zeros((4, 40, 50), np.uint8))


def test_a_person_spans_their_height_over_the_factor():
    assert person_detail_px(120.0, 4.0) == 30.0
    assert person_detail_px(51.0, 1.0) == 51.0
    with pytest.raises(ValueError, match=r"0\.5"):
        person_detail_px(100.0, 0.5)


def test_a_crop_s_person_spans_their_mask_s_rows_over_the_crop_s_factor():
    crop = scene(5, 128, 128)
    mask = np.zeros((128, 128), bool)
    mask[20:100, 50:70] = True  # 80 rows
    mask[60, 10] = True  # a stray pixel inside those rows changes nothing
    assert crop_detail_px(crop, mask) == 80.0
    assert crop_detail_px(blown(crop, 2.0), mask) == 40.0
    assert crop_detail_px(np.stack([crop] * 3, -1), mask) == 80.0
    assert crop_detail_px(crop, np.zeros_like(mask)) == 0.0


def test_a_site_reads_every_nth_frame_and_keeps_the_median():
    sharp, soft = scene(4), blown(scene(4), 4.0)
    site = SiteDetail(every=3, memory=3)
    assert site.factor == 1.0 and not site.known  # nothing read yet
    site.observe(soft, 0)
    assert site.factor == 4.0 and site.known
    site.observe(sharp, 1)  # not read: one of every three
    site.observe(sharp, 2)
    assert site.factor == 4.0
    site.observe(sharp, 3)
    site.observe(sharp, 6)
    assert site.factor == 1.0  # median of 4, 1, 1
    site.observe(soft, 9)
    site.observe(soft, 12)
    assert site.factor == 4.0  # the oldest readings forgotten
    with pytest.raises(ValueError, match="every"):
        SiteDetail(every=0)
