"""Source crops: exact, consistent labels; deterministic by seed."""

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.synth.source_data import SourceConfig, render_crops, rotmats, source_config


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def crops(body):
    return render_crops(48, SourceConfig(image_size=96, seed=4, backgrounds=6), body=body)


def test_labels_describe_the_rendered_person(crops, body):
    n = len(crops["images"])
    assert crops["images"].shape == (n, 96, 96, 3)
    j2 = crops["joints_2d"]
    assert np.allclose(
        j2, crops["camera"][:, None, :1] * crops["joints"][..., :2] + crops["camera"][:, None, 1:], atol=1e-5
    )
    px = np.round((j2 + 1) * 48 - 0.5).astype(int).clip(0, 95)
    inside = crops["masks"][np.arange(n)[:, None], px[..., 1], px[..., 0]]
    assert inside[:, [0, 3, 6, 9]].mean() > 0.9  # trunk joints land on the person
    fill = crops["masks"].reshape(n, -1).any(1)
    assert fill.all()
    with torch.no_grad():
        out = body(torch.as_tensor(crops["betas"]), rotmats(crops["pose"]))
    assert np.allclose((out.joints - out.joints[:, :1]).numpy(), crops["joints"], atol=1e-4)


def test_people_stand_upright_facing_every_way(crops):
    j = crops["joints"]
    up = j[:, 12, 1] < j[:, 0, 1]  # neck above pelvis (camera y points down)
    assert up.mean() > 0.9
    forward = crops["pose"][:, :3]
    assert forward.std(0).max() > 0.5  # headings vary


def test_deterministic_by_seed(crops, body):
    again = render_crops(48, SourceConfig(image_size=96, seed=4, backgrounds=6), body=body)
    assert np.array_equal(again["images"], crops["images"]) and np.array_equal(again["pose"], crops["pose"])


def test_v3_crops_keep_exact_labels_over_photographs(tmp_path, body):
    photo = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, (200, 300, 3)).astype(np.uint8), (0, 0), 3)
    cv2.imwrite(str(tmp_path / "p.jpg"), photo)
    cfg = replace(source_config("v3", 64, 9), photos=str(tmp_path), backgrounds=3)
    crops = render_crops(24, cfg, body=body)
    assert crops["images"].shape == (24, 64, 64, 3)
    assert np.allclose(
        crops["joints_2d"],
        crops["camera"][:, None, :1] * crops["joints"][..., :2] + crops["camera"][:, None, 1:],
        atol=1e-5,
    )
    with torch.no_grad():
        out = body(torch.as_tensor(crops["betas"]), rotmats(crops["pose"]))
    assert np.allclose((out.joints - out.joints[:, :1]).numpy(), crops["joints"], atol=1e-4)
    again = render_crops(24, cfg, body=body)
    assert np.array_equal(again["images"], crops["images"])
    v2 = render_crops(24, replace(source_config("v2", 64, 9), backgrounds=3), body=body)
    assert not np.array_equal(v2["images"], crops["images"])


def test_unknown_style_is_named():
    with pytest.raises(ValueError, match="v9"):
        source_config("v9", 64, 0)


def test_v4_crops_are_v3_crops_a_frame_edge_cuts_across_the_body(tmp_path, body):
    """Where a frame's edge cuts a crop, past a line across the person the crop is one flat colour
    (as the service fills what lies past the frame); the labels are the whole person's. The other
    crops are v3's own: the draw is made only where the style asks for it."""
    photo = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 256, (200, 300, 3)).astype(np.uint8), (0, 0), 3)
    cv2.imwrite(str(tmp_path / "p.jpg"), photo)
    v3 = replace(source_config("v3", 64, 9), photos=str(tmp_path), backgrounds=3)
    cut = render_crops(16, replace(v3, frame_edge=1.0), body=body)
    whole = render_crops(16, v3, body=body)
    assert np.array_equal(cut["joints"], whole["joints"]) and np.array_equal(cut["masks"], whole["masks"])
    for img, mask, ref in zip(cut["images"], cut["masks"], whole["images"], strict=True):
        changed = (img != ref).any(-1)
        assert changed.any()
        colours = np.unique(img[changed], axis=0)
        assert len(colours) == 1  # one flat colour past the cut
        rows, cols = changed.any(1), changed.any(0)
        # the filled part is a band along one edge of the crop: whole rows or whole columns
        assert (rows.all() and (cols[0] or cols[-1])) or (cols.all() and (rows[0] or rows[-1]))
        # ... and the line runs across the person: part of them is in view, part past it
        assert (mask & changed).any() and (mask & ~changed).any()
