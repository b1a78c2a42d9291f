"""Camera degradations: identities at their neutral settings, and against slow references."""

import numpy as np
import pytest

from models.synth.degrade import DegradeConfig, degrade, exposure, grey, jpeg, low_resolution, motion_blur, sensor_noise


@pytest.fixture()
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)


def test_neutral_settings_change_nothing(image):
    assert np.array_equal(low_resolution(image, 1.0), image)
    assert np.array_equal(motion_blur(image, 1, 30.0), image)
    assert np.array_equal(exposure(image, 1.0, 1.0), image)
    smooth = np.linspace(0, 255, 32 * 32 * 3).reshape(32, 32, 3).astype(np.uint8)  # JPEG subsamples colour noise
    assert np.abs(jpeg(smooth, 100).astype(int) - smooth).mean() < 2
    assert np.abs(jpeg(smooth, 10).astype(int) - smooth).mean() > np.abs(jpeg(smooth, 90).astype(int) - smooth).mean()


def test_horizontal_blur_is_a_running_mean_along_rows(image):
    out = motion_blur(image, 3, 0.0).astype(float)
    x = image.astype(float)
    ref = (x[:, :-2] + x[:, 1:-1] + x[:, 2:]) / 3  # slow reference, away from the borders
    assert np.abs(out[:, 1:-1] - ref).max() <= 1.0


def test_low_resolution_loses_detail_but_keeps_the_mean(image):
    out = low_resolution(image, 0.25)
    assert out.shape == image.shape
    assert abs(out.mean() - image.mean()) < 3
    assert out.std() < image.std() * 0.6


def test_exposure_is_the_tone_curve():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    ref = np.clip(255 * 1.2 * (x / 255.0) ** 0.5 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(exposure(x, 0.5, 1.2), ref)


def test_grey_and_thermal(image):
    g = grey(image)
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all()
    assert np.array_equal(grey(image, invert=True), 255 - g)


def test_noise_is_stronger_in_the_dark():
    rng = np.random.default_rng(1)
    dark, bright = np.full((64, 64, 3), 20, np.uint8), np.full((64, 64, 3), 235, np.uint8)
    assert sensor_noise(dark, 8.0, rng).std() > sensor_noise(bright, 8.0, rng).std() * 1.3


def test_degrade_is_deterministic_and_keeps_the_format(image):
    a = degrade(image, np.random.default_rng(5), DegradeConfig())
    b = degrade(image, np.random.default_rng(5), DegradeConfig())
    assert a.shape == image.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    none = DegradeConfig(low_resolution=0, motion_blur=0, exposure=0, grey=0, noise=0, jpeg=0)
    assert np.array_equal(degrade(image, np.random.default_rng(5), none), image)


def test_bad_settings_are_named(image):
    with pytest.raises(ValueError, match=r"1\.5"):
        low_resolution(image, 1.5)
    with pytest.raises(ValueError, match="0"):
        motion_blur(image, 0, 0.0)
    with pytest.raises(ValueError, match="101"):
        jpeg(image, 101)
