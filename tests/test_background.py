"""MOG2 silhouettes on a rendered camera site against its true masks."""

import numpy as np
import pytest

from models.background import BackgroundConfig, BackgroundModel, silhouettes
from models.synth.camera_site import SiteConfig, make_site


@pytest.fixture(scope="module")
def site():
    return make_site(SiteConfig(width=160, height=120, focal=190.0, frames=80, seed=5), progress=False)


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_offline_silhouettes_match_the_true_masks(site):
    fg, blobs = silhouettes(site.frames)
    ious = [iou(f, m) for f, m in zip(fg, site.masks, strict=True)]
    assert np.mean(ious) > 0.75, np.mean(ious)
    assert sum(len(b) >= 1 for b in blobs) >= 0.9 * len(blobs)


def test_online_model_warms_up_then_finds_the_person(site):
    bg = BackgroundModel(BackgroundConfig(warmup_frames=20))
    found = []
    for t, frame in enumerate(site.frames):
        assert bg.warming_up == (t < 20)
        found.append(bool(bg.apply(frame)))
    assert np.mean(found[40:]) > 0.8


def test_shadows_and_speckle_are_background():
    rng = np.random.default_rng(0)
    bg = BackgroundModel(BackgroundConfig(warmup_frames=0))
    base = rng.integers(90, 110, (120, 160, 3), dtype=np.uint8)
    for _ in range(50):
        bg.foreground(base)
    frame = base.copy()
    frame[20:100, 60:90] = (base[20:100, 60:90] * 0.6).astype(np.uint8)  # a shadow: darker, same hue
    frame[5, 5] = 255  # a single hot pixel
    assert bg.apply(frame) == []
    frame[20:100, 100:130] = (250, 20, 20)  # a person-sized red block
    blobs = bg.apply(frame)
    assert len(blobs) == 1
    x0, y0, x1, y1 = blobs[0].box
    assert abs(x0 - 99.5) <= 1 and abs(x1 - 129.5) <= 1 and abs(y0 - 19.5) <= 1 and abs(y1 - 99.5) <= 1
