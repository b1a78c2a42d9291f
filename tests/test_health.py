"""models/health.py: the unsupervised health score against brute-force IoU and point-set Chamfer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.health import Health, health_score, images_tensor, per_crop_health
from models.m2s import SilhouetteSettings, m2s
from models.regressor import load_regressor
from models.target_data import TargetSet
from models.topology import skeleton
from tests.service_helpers import tiny_checkpoint

SIL = 32  # silhouette side: small keeps the brute-force Chamfer cheap


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    """The tiny regressor with a small random last layer, so each crop gets its own mesh and
    batch-norm or dropout in training mode would change the result."""
    regressor = load_regressor(tiny_checkpoint(tmp_path_factory.mktemp("health") / "source.pt"))
    with torch.no_grad():
        torch.nn.init.normal_(regressor.head[-1].weight, std=0.02, generator=torch.Generator().manual_seed(0))
    return regressor


@pytest.fixture(scope="module")
def rendered(regressor):
    """Five crops and the silhouettes the regressor's meshes render to on them (N, SIL, SIL) bool."""
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    with torch.no_grad():
        out = regressor.eval()(images_tensor(images))
        S_hat = m2s(
            regressor.body.proxy_vertices(out.vertices),
            regressor.body.proxy_faces,
            out.camera,
            SilhouetteSettings(image_size=SIL),
        )
    return images, S_hat[:, 0].numpy() > 0.5


@pytest.fixture(scope="module")
def target(rendered):
    """Targets of known relation to the rendered silhouettes: itself, shifted, a box, a thin bar, nothing."""
    images, S_hat = rendered
    sils = np.zeros((5, SIL, SIL), bool)
    sils[0] = S_hat[0]
    sils[1] = np.roll(S_hat[1], (3, -2), axis=(0, 1))
    sils[2, 4:28, 10:22] = True
    sils[3, 2:30, 15:17] = True
    # sils[4] stays empty
    return TargetSet(images=images, silhouettes=sils, frame_index=np.arange(5), squares=np.zeros((5, 3)))


def brute_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def brute_chamfer_linf(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = np.argwhere(a), np.argwhere(b)
    d = np.abs(pa[:, None, :] - pb[None, :, :]).max(-1)
    return float(d.min(1).sum() + d.min(0).sum())


def skeleton_np(S: np.ndarray) -> np.ndarray:
    return skeleton(torch.from_numpy(S).float()[None, None])[0, 0].numpy() > 0


def test_rendered_silhouettes_are_neither_empty_nor_full_and_differ_per_crop(rendered):
    _, S_hat = rendered
    assert S_hat.any((1, 2)).all() and not S_hat.all((1, 2)).any()
    assert len({s.tobytes() for s in S_hat}) == len(S_hat)


def test_per_crop_iou_is_the_brute_force_iou_of_the_rendered_silhouettes(regressor, rendered, target):
    _, S_hat = rendered
    iou, _ = per_crop_health(regressor, target)
    expected = [brute_iou(S_hat[i], target.silhouettes[i]) for i in range(len(target))]
    np.testing.assert_allclose(iou, expected, rtol=1e-6, atol=1e-7)
    assert iou[0] == pytest.approx(1.0) and iou[4] == 0.0
    assert 0.0 < iou[1] < 1.0 and 0.0 < iou[2] < 1.0


def test_per_crop_topology_is_the_linf_chamfer_of_the_skeletons_per_target_skeleton_pixel(regressor, rendered, target):
    _, S_hat = rendered
    _, topology = per_crop_health(regressor, target)
    for i in range(4):  # crop 4 has no target skeleton: no point-set distance is defined
        T_hat, T = skeleton_np(S_hat[i]), skeleton_np(target.silhouettes[i])
        assert T.any()
        assert topology[i] == pytest.approx(brute_chamfer_linf(T_hat, T) / T.sum(), rel=1e-6)
    assert topology[0] == 0.0 and topology[1] > 0.0


def test_health_score_is_the_mean_over_crops(regressor, target):
    iou, topology = per_crop_health(regressor, target)
    h = health_score(regressor, target)
    assert h.crops == 5
    assert h.iou == pytest.approx(float(iou.mean()), rel=1e-6)
    assert h.topology == pytest.approx(float(topology.mean()), rel=1e-6)
    assert h.as_dict() == {"iou": h.iou, "topology": h.topology, "crops": 5}


def test_the_batch_size_does_not_change_the_scores(regressor, target):
    whole = per_crop_health(regressor, target, batch=32)
    for batch in (2, 3):
        parts = per_crop_health(regressor, target, batch=batch)
        np.testing.assert_allclose(parts[0], whole[0], rtol=1e-6)
        np.testing.assert_allclose(parts[1], whole[1], rtol=1e-6)


def test_scoring_restores_the_regressors_mode(regressor, target):
    eval_scores = per_crop_health(regressor.eval(), target)
    regressor.train()
    try:
        train_scores = per_crop_health(regressor, target)
        assert regressor.training
    finally:
        regressor.eval()
    np.testing.assert_array_equal(train_scores[0], eval_scores[0])  # scored in eval mode either way
    np.testing.assert_array_equal(train_scores[1], eval_scores[1])


def test_an_empty_held_out_set(regressor, target):
    empty = target.subset(np.array([], dtype=np.int64))
    iou, topology = per_crop_health(regressor, empty)
    assert iou.shape == (0,) and topology.shape == (0,)
    with pytest.raises(ValueError, match="empty"):
        health_score(regressor, empty)


# -- Health.beats on hand-made values -------------------------------------------------------------
def h(iou: float, topology: float = 5.0) -> Health:
    return Health(iou=iou, topology=topology, crops=10)


@pytest.mark.parametrize(
    "new,old,expected",
    [
        (h(0.60), h(0.50), True),  # a clear IoU gain
        (h(0.5051), h(0.50), True),  # just past the margin
        (h(0.504), h(0.50), False),  # inside the margin
        (h(0.50), h(0.50), False),  # equal
        (h(0.40, topology=1.0), h(0.50, topology=5.0), False),  # better skeletons never outvote IoU
        (h(0.60, topology=10.0), h(0.50, topology=5.0), True),  # skeletons twice as bad: still allowed
        (h(0.60, topology=10.01), h(0.50, topology=5.0), False),  # worse than the guard: refused
        (h(0.90, topology=0.1), h(0.50, topology=0.0), False),  # against a perfect skeleton, any L_T is too much
        (h(0.90, topology=0.0), h(0.50, topology=0.0), True),
    ],
)
def test_beats_needs_an_iou_gain_past_the_margin_and_skeletons_within_the_guard(new, old, expected):
    assert new.beats(old) is expected


def test_beats_margin_and_guard_are_parameters():
    assert h(0.501).beats(h(0.50), margin=0.0)
    assert not h(0.55).beats(h(0.50), margin=0.1)
    assert not h(0.60, topology=6.0).beats(h(0.50, topology=5.0), topology_guard=1.0)
    assert h(0.60, topology=15.0).beats(h(0.50, topology=5.0), topology_guard=3.0)


def test_beats_is_never_true_both_ways():
    values = [h(i, t) for i in (0.3, 0.5, 0.502, 0.7) for t in (0.0, 2.0, 4.0, 9.0)]
    for a in values:
        for b in values:
            assert not (a.beats(b) and b.beats(a))
