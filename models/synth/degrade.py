"""What a real camera does to an image, for source crops: each a stateless function of an image and a generator.

    image = degrade(image, rng, DegradeConfig())      # (S, S, 3) uint8 -> (S, S, 3) uint8

Renders are noiseless, sharp, exactly exposed and never compressed; real static cameras are
none of these. Each step below happens to a crop with its own probability, so that a share of
crops stays clean (the synthetic sites still see clean crops).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DegradeConfig:
    """Probability of each degradation per crop, and its strength range."""

    low_resolution: float = 0.35
    min_scale: float = 0.15  # the crop is seen at 15-60% of its size, then scaled back up
    max_scale: float = 0.6
    motion_blur: float = 0.2
    max_blur: int = 9  # kernel length in pixels
    exposure: float = 0.5  # gamma 0.55-1.8 and a gain
    grey: float = 0.15  # grey and thermal-like cameras
    noise: float = 0.4
    max_noise: float = 14.0  # standard deviation, in 8-bit levels
    jpeg: float = 0.4
    min_quality: int = 15


def low_resolution(image: np.ndarray, scale: float) -> np.ndarray:
    """Shrink by ``scale`` (by area, as a small sensor would) and scale back up bilinearly."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def motion_blur(image: np.ndarray, length: int, angle_deg: float) -> np.ndarray:
    """Average along a line of ``length`` pixels at ``angle_deg`` (a person or a camera moving during exposure)."""
    if length < 1:
        raise ValueError(f"blur length must be at least 1 pixel, got {length}")
    line = np.zeros((length, length), np.float32)
    line[length // 2] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle_deg, 1.0)
    kernel = cv2.warpAffine(line, rot, (length, length))
    kernel = (kernel / max(float(kernel.sum()), 1e-6)).astype(np.float32)
    return cv2.filter2D(image, -1, kernel)


def exposure(image: np.ndarray, gamma: float, gain: float) -> np.ndarray:
    """Tone curve ``255 * gain * (x / 255) ** gamma``, clipped (auto exposure, odd light)."""
    x = (image.astype(np.float32) / 255.0) ** gamma * gain
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def grey(image: np.ndarray, invert: bool = False) -> np.ndarray:
    """Luminance in all three channels; ``invert`` for a thermal-like look (warm bodies bright on dark clothes)."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.repeat((255 - g if invert else g)[..., None], 3, axis=2)


def sensor_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise of ``sigma`` levels, stronger in dark pixels as shot noise is relatively."""
    x = image.astype(np.float32)
    scale = sigma * (0.5 + 0.5 * (1.0 - x / 255.0))
    return np.clip(x + scale * rng.standard_normal(image.shape), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (the block and ringing artefacts of a compressed stream)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1-100, got {quality}")
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape} as JPEG")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("OpenCV could not decode the JPEG it had just encoded")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def degrade(image: np.ndarray, rng: np.random.Generator, cfg: DegradeConfig = DegradeConfig()) -> np.ndarray:
    """A camera's chain in order: optics and motion, sensor size, exposure, colour, noise, compression."""
    out = image
    if rng.random() < cfg.motion_blur:
        out = motion_blur(out, int(rng.integers(3, cfg.max_blur + 1)), rng.uniform(0, 180))
    if rng.random() < cfg.low_resolution:
        out = low_resolution(out, rng.uniform(cfg.min_scale, cfg.max_scale))
    if rng.random() < cfg.exposure:
        out = exposure(out, rng.uniform(0.55, 1.8), rng.uniform(0.7, 1.3))
    if rng.random() < cfg.grey:
        out = grey(out, invert=rng.random() < 0.3)
    if rng.random() < cfg.noise:
        out = sensor_noise(out, rng.uniform(2.0, cfg.max_noise), rng)
    if rng.random() < cfg.jpeg:
        out = jpeg(out, int(rng.integers(cfg.min_quality, 90)))
    return out
