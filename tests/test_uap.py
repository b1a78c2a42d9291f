"""A crafted UAP respects its bound and hurts the regressor more than random noise of the same size."""

import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.metrics import pa_mpjpe
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig, load_regressor
from models.synth.domain_shift import parse_shift
from models.synth.source_data import SourceConfig, render_crops
from models.synth.uap import OBJECTIVES, craft_uap, load_uap, placed, shift_uap
from runtime.settings import SHIPPED_CHECKPOINT


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    body = load_body_model()
    reg = PoseRegressor(RegressorConfig(image_size=64), body, PoseDecoder()).eval()
    torch.nn.init.normal_(reg.head[-1].weight, std=0.01)  # a fresh head predicts constants; this one looks
    crops = render_crops(48, SourceConfig(image_size=64, seed=7, backgrounds=6), body=body)
    return reg, crops["images"][:32], crops["images"][32:]


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_uap_is_bounded_and_beats_random_noise(tiny, objective):
    reg, craft, held = tiny
    uap = craft_uap(reg, craft, eps=8, steps=30, batch=8, objective=objective, jitter=0.0)
    assert uap.shape == (64, 64, 3) and np.abs(uap).max() <= 8 + 1e-4
    assert all(p.requires_grad for p in reg.backbone.parameters())  # the model is left as it was

    def predict(images, delta=0.0):
        x = (
            torch.as_tensor(np.clip(images.astype(np.float32) + delta, 0, 255).astype(np.float32)).permute(0, 3, 1, 2)
            / 255.0
        )
        with torch.no_grad():
            return reg(x)

    def hurt(delta):  # measured the way each objective's error is scored
        clean, shifted = predict(held), predict(held, delta)
        if objective == "pose":
            return pa_mpjpe(shifted.eval_joints, clean.eval_joints).mean()
        return (shifted.joints - clean.joints).norm(dim=-1).mean()

    noise = np.random.default_rng(0).choice([-8.0, 8.0], size=uap.shape)
    assert hurt(uap) > 2 * hurt(noise), (hurt(uap), hurt(noise))
    # and it plugs into the named shift
    frame = np.full((120, 160, 3), 128, np.uint8)
    out = parse_shift("uap-8", uap=uap)(frame, box=(40, 20, 104, 84))
    assert np.abs(out.astype(int) - 128).max() <= 8


def test_the_shipped_uap_hurts_the_shipped_model_off_its_grid():
    """uap-8 against source_cpu.pt, laid where the crop lands a little off (as MOG2 crops do),
    raises PA-MPJPE far more than sign noise of the same size on crops it was not crafted on."""
    reg = load_regressor(SHIPPED_CHECKPOINT, load_body_model())
    x = torch.as_tensor(render_crops(32, SourceConfig(image_size=128, seed=31_000), body=reg.body)["images"])
    x = x.permute(0, 3, 1, 2).float() / 255.0

    def hurt(uap):  # over the same random placements for each perturbation
        g = torch.Generator().manual_seed(1)
        delta = torch.as_tensor(uap, dtype=torch.float32).permute(2, 0, 1)[None] / 255.0
        with torch.no_grad():
            clean = reg(x).eval_joints
            return torch.stack(
                [
                    pa_mpjpe(reg((x + placed(delta, len(x), 0.1, g)).clamp(0, 1)).eval_joints, clean).mean()
                    for _ in range(3)
                ]
            ).mean()

    noise = np.random.default_rng(0).choice([-8.0, 8.0], size=(128, 128, 3))
    uap_mm, noise_mm = hurt(load_uap(8)), hurt(noise)
    print(f"shipped uap-8 moves the aligned joints {uap_mm:.1f} mm, sign noise {noise_mm:.1f} mm")
    assert uap_mm > 2 * noise_mm


def test_unknown_objective_is_refused(tiny):
    reg, craft, _ = tiny
    with pytest.raises(ValueError, match="objective"):
        craft_uap(reg, craft, eps=8, steps=1, objective="heading")


@pytest.mark.parametrize("eps", [4, 8, 16])
def test_shipped_uaps_fit_the_crop_and_their_bound(eps):
    uap = load_uap(eps)
    assert uap.shape == (128, 128, 3) and uap.dtype == np.float32
    assert np.abs(uap).max() <= eps and np.abs(uap).max() > 0.9 * eps  # crafted, not zeros
    parse_shift(f"uap-{eps}", uap=uap)  # accepted by the named shift


def test_shift_names_find_their_uap(tmp_path):
    assert shift_uap("gray") is None
    np.testing.assert_array_equal(shift_uap("lr-52+uap-8"), load_uap(8))
    with pytest.raises(FileNotFoundError, match=r"python -m models\.synth\.uap"):
        load_uap(8, tmp_path)


def test_placed_copies_move_but_keep_the_bound():
    g = torch.Generator().manual_seed(0)
    delta = (torch.rand(1, 3, 32, 32, generator=g) * 2 - 1) * 0.03
    assert torch.equal(placed(delta, 4, 0.0, g), delta.expand(4, -1, -1, -1))
    copies = placed(delta, 4, 0.1, g)
    assert copies.shape == (4, 3, 32, 32) and copies.abs().max() <= 0.03 + 1e-7
    assert not torch.allclose(copies[0], copies[1])  # each copy placed on its own
    # a small jitter moves a smooth perturbation only a little
    smooth = torch.linspace(-0.03, 0.03, 32).expand(1, 3, 32, 32).contiguous()
    assert (placed(smooth, 2, 0.02, g) - smooth)[..., 4:-4, 4:-4].abs().max() < 0.005
