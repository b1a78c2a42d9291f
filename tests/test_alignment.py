"""Each variant's terms: zero when the prediction is the target, positive and differentiable otherwise."""

import pytest
import torch

from models.alignment import VARIANTS, AlignmentTarget, alignment_terms
from models.body_model import load_body_model
from models.m2s import SilhouetteSettings, m2s


@pytest.fixture(scope="module")
def scene():
    body = load_body_model()
    pose = torch.zeros(2, 72)
    pose[:, 0] = torch.pi
    pose[1, 3 * 16 + 2] = -1.0  # second body: left arm down
    out = body(torch.zeros(2, 10), pose)
    verts = body.proxy_vertices(out.vertices - out.joints[:, :1])
    camera = torch.tensor([[0.9, 0.0, 0.0], [0.9, 0.0, 0.0]])
    return body, verts, camera


@pytest.mark.parametrize("gradient", ["erosions", "distance"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_terms_vanish_on_the_target_and_pull_otherwise(scene, variant, gradient):
    body, verts, camera = scene
    S = m2s(verts, body.proxy_faces, camera, SilhouetteSettings(image_size=48)).detach()
    target = AlignmentTarget.from_silhouettes(S[[0, 0]])
    v = verts.clone().requires_grad_(True)
    terms = alignment_terms(variant, v, body.proxy_faces, camera, target, gradient)
    total = sum(terms.values())
    if variant != "a2":  # a2 compares vertices with pixels: never exactly zero
        assert total[0].item() == pytest.approx(0.0, abs=1e-6)
    assert total[1].item() > total[0].item() + 1.0
    total[1].backward()
    assert v.grad[1].abs().sum() > 0 and torch.isfinite(v.grad).all()


def test_unknown_variant_is_refused(scene):
    body, verts, camera = scene
    target = AlignmentTarget.from_silhouettes(torch.zeros(2, 32, 32))
    with pytest.raises(ValueError, match="unknown variant"):
        alignment_terms("b9", verts, body.proxy_faces, camera, target)
