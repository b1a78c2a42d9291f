"""Domain shifts: named, composable, deterministic, and doing what their names say."""

import numpy as np
import pytest

from models.synth.domain_shift import parse_shift


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)  # full of fine detail
    mask = np.zeros((120, 160), dtype=bool)
    mask[30:100, 60:90] = True
    frame[mask] = (200, 60, 40)
    return frame, mask


def detail(img: np.ndarray) -> float:
    g = img.astype(np.float32).mean(-1)
    return float(np.abs(np.diff(g, axis=1)).mean())


def test_low_resolution_removes_detail_in_order():
    frame, _ = scene()
    d = [detail(parse_shift(f"lr-{w}")(frame)) for w in (96, 52, 32)]
    assert detail(frame) > d[0] > d[1] > d[2]
    assert parse_shift("lr-52")(frame).shape == frame.shape


def test_gray_and_thermal_drop_colour_and_thermal_warms_people():
    frame, mask = scene()
    g = parse_shift("gray")(frame)
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
    t = parse_shift("thermal")(frame, index=3, mask=mask).astype(np.float32).mean(-1)
    assert t[mask].mean() > t[~mask].mean() + 40  # people glow


def test_shifts_compose_in_order_and_are_deterministic():
    frame, _ = scene()
    both = parse_shift("lr-52+noise-8")
    assert np.array_equal(both(frame, index=5), both(frame, index=5))
    assert not np.array_equal(both(frame, index=5), both(frame, index=6))  # noise changes per frame
    lr_then_noise = parse_shift("noise-8")(parse_shift("lr-52")(frame), index=5)
    assert np.array_equal(both(frame, index=5), lr_then_noise)
    assert np.array_equal(parse_shift("clean")(frame), frame)


def test_uap_needs_a_real_perturbation_within_its_bound():
    frame, _ = scene()
    with pytest.raises(ValueError, match="crafted"):
        parse_shift("uap-8")
    with pytest.raises(ValueError, match="L-inf"):
        parse_shift("uap-8", uap=np.full((16, 16, 3), 9.0))
    uap = np.random.default_rng(1).uniform(-8, 8, (16, 16, 3))
    out = parse_shift("uap-8", uap=uap)(frame, box=(60, 30, 90, 100))
    diff = out.astype(int) - frame.astype(int)
    assert np.abs(diff).max() <= 8 and np.abs(diff[30:100, 60:90]).sum() > 0
    assert not diff[:20].any()  # only the person's crop square (84 px around the box's centre)


def test_uap_reaches_the_regressor_crop_as_crafted():
    """Cutting the pipeline's crop out of the perturbed frame gives the perturbation back."""
    from models.crops import crop, square_box

    size = 32
    yy, xx = np.mgrid[0:size, 0:size] / size
    uap = np.stack([8 * np.sin(2 * np.pi * xx), 8 * np.cos(2 * np.pi * yy), 8 * np.sin(2 * np.pi * (xx + yy))], -1)
    frame = np.full((120, 160, 3), 128, np.uint8)
    box = (60, 30, 90, 100)  # pixel edges, as make_site gives it
    out = parse_shift("uap-8", uap=uap)(frame, box=box)
    square = square_box((box[0] - 0.5, box[1] - 0.5, box[2] - 0.5, box[3] - 0.5))
    back = crop(out, square, size).astype(float) - 128
    assert np.abs(back - uap).mean() < 0.8 and np.abs(back - uap).max() < 2.5


@pytest.mark.parametrize("bad", ["lr", "lr-x", "sepia", "blur--2", "gray-3"])
def test_bad_names_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        parse_shift(bad)
