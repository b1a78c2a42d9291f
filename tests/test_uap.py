"""A crafted UAP respects its bound and hurts the regressor more than random noise of the same size."""
import numpy as np
import torch

from models.body_model import load_body_model
from models.domain_shift import parse_shift
from models.pose_prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig
from models.source_data import SourceConfig, render_crops
from models.uap import craft_uap


def test_uap_is_bounded_and_beats_random_noise():
    torch.manual_seed(0)
    body = load_body_model()
    reg = PoseRegressor(RegressorConfig(image_size=64), body, PoseDecoder()).eval()
    torch.nn.init.normal_(reg.head[-1].weight, std=0.01)  # a fresh head predicts constants; this one looks
    crops = render_crops(48, SourceConfig(image_size=64, seed=7, backgrounds=6), body=body)
    craft, held = crops["images"][:32], crops["images"][32:]
    uap = craft_uap(reg, craft, eps=8, steps=30, batch=8)
    assert uap.shape == (64, 64, 3) and np.abs(uap).max() <= 8 + 1e-4
    assert all(p.requires_grad for p in reg.backbone.parameters())  # the model is left as it was

    def shift(images, delta):
        x = torch.as_tensor(np.clip(images.astype(np.float32) + delta, 0, 255).astype(np.float32)).permute(0, 3, 1, 2) / 255.0
        with torch.no_grad():
            return reg(x).joints

    with torch.no_grad():
        clean = reg(torch.as_tensor(held).permute(0, 3, 1, 2).float() / 255.0).joints
    noise = np.random.default_rng(0).choice([-8.0, 8.0], size=uap.shape)
    hurt_uap = (shift(held, uap) - clean).norm(dim=-1).mean()
    hurt_noise = (shift(held, noise) - clean).norm(dim=-1).mean()
    assert hurt_uap > 2 * hurt_noise, (hurt_uap, hurt_noise)
    # and it plugs into the named shift
    frame = np.full((120, 160, 3), 128, np.uint8)
    out = parse_shift("uap-8", uap=uap)(frame, box=(40, 20, 104, 84))
    assert np.abs(out.astype(int) - 128).max() <= 8
