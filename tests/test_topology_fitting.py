"""Gradients do their job (the paper's Fig. 3 claim, on our body model): bench/swung_limbs.py's
scenario, limbs swung 0.5-1.2 rad off a target silhouette and pulled home."""

import pytest
import torch

from bench.swung_limbs import fit
from models.body_model import load_body_model


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.mark.parametrize("loss,gradient", [("ours", "erosions"), ("pull", "distance")])
def test_alignment_losses_halve_the_joint_error(body, loss, gradient):
    """L_S + L_T with S2D's literal gradient, and the pull halves of both (each target pixel's
    distance to the prediction) by the distance. L_S + L_T whole by the distance does not get
    there (137 -> 95 mm: the push half stalls the limbs; docs/RESULTS.md)."""
    torch.manual_seed(0)
    start, end = fit(body, loss, gradient=gradient)
    assert start > 100.0  # the swing is large: limbs start far from their targets
    assert end < 0.5 * start, (start, end)
    # Against pixel L2 the result depends on the CPU (it has ended anywhere from 28 to 104 mm on
    # different Xeons and EPYCs; `python -m bench.swung_limbs` prints it), so none is asserted.
