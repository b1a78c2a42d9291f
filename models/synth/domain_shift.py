"""Domain shifts of site frames, named as in the paper and composable with ``+``.

    shift = parse_shift("lr-52+gray")
    shifted = shift(frame, index=t)               # (H, W, 3) uint8 -> same

Names:
    lr-<w>      low resolution: a 224-px person crop keeps only w px of detail (LR-96/52/32 in the
                paper); the frame is shrunk by w/224 and blown back up (bicubic). At the ``cpu``
                preset's 128-px crops the same name means the same loss of detail relative to
                the crop.
    uap-<eps>   a universal adversarial perturbation with L-inf norm eps/255, added to the person
                crop; the perturbation itself is crafted against the source regressor and must
                be passed in (``uap=``), there is no stand-in.
    gray        single-channel camera (replicated to three channels).
    thermal     a thermal-camera look: people warm and bright, the scene cool and flat, blurred,
                noisy, on the ``inferno`` colour map. With the true mask (synthetic sites) people
                are made warm; without it (real footage) brightness stands in for warmth.
    noise-<s>   Gaussian sensor noise with standard deviation s/255.
    blur-<s>    Gaussian blur with standard deviation s px.
Every shift is deterministic given the frame index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from models.crops import crop_matrix, square_box

Shift = Callable[..., np.ndarray]


def low_resolution(frame: np.ndarray, width: float, reference: float = 224.0) -> np.ndarray:
    h, w = frame.shape[:2]
    f = width / reference
    small = cv2.resize(frame, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def gaussian_noise(frame: np.ndarray, sigma: float, index: int) -> np.ndarray:
    rng = np.random.default_rng(1_000_003 + index)
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), sigmaX=sigma)


def thermal(frame: np.ndarray, index: int, mask: np.ndarray | None = None) -> np.ndarray:
    lum = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    scene = 0.25 + 0.2 * cv2.GaussianBlur(lum, (0, 0), 6.0)  # cool, low-contrast background
    heat: np.ndarray  # (H, W) float32, warmth in [0, 1]
    if mask is None:
        heat = 0.25 + 0.6 * lum  # real footage: brightness stands in for warmth
    else:
        body = 0.75 + 0.15 * cv2.GaussianBlur(lum, (0, 0), 1.5)  # warm people, faint shading
        soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.2)
        heat = soft * body + (1 - soft) * scene
    heat = cv2.GaussianBlur(heat, (0, 0), 1.0)
    rng = np.random.default_rng(2_000_003 + index)
    heat = np.clip(heat + rng.normal(0.0, 0.015, heat.shape), 0.0, 1.0)
    coloured = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)


def add_uap(frame: np.ndarray, uap: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Add a perturbation (S, S, 3) in [-eps, eps] * 255 so that the regressor's crop sees it as crafted.

    ``box`` (x0, y0, x1, y1, pixel edges) is the person's; the perturbation is warped onto the
    square crop the pipeline cuts around that box (:func:`models.crops.square_box`), with the exact
    inverse of :func:`models.crops.crop`, so cutting the crop brings it back onto its own pixel
    grid. Without a box it is stretched over the whole frame.
    """
    h, w = frame.shape[:2]
    if box is None:
        delta = cv2.resize(uap.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            return frame
        # pixel edges -> the centre-based coordinates of mask_box (pixel i spans i - 0.5 .. i + 0.5)
        M = crop_matrix(square_box((x0 - 0.5, y0 - 0.5, x1 - 0.5, y1 - 0.5)), uap.shape[0])
        delta = cv2.warpAffine(
            uap.astype(np.float32),
            M,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    return np.clip(frame.astype(np.float32) + delta, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class NamedShift:
    name: str
    steps: tuple[tuple[str, float], ...]
    uap: np.ndarray | None = None

    def __call__(
        self,
        frame: np.ndarray,
        index: int = 0,
        mask: np.ndarray | None = None,
        box: tuple[int, int, int, int] | None = None,
    ) -> np.ndarray:
        for kind, value in self.steps:
            if kind == "lr":
                frame = low_resolution(frame, value)
            elif kind == "gray":
                frame = gray(frame)
            elif kind == "thermal":
                frame = thermal(frame, index, mask)
            elif kind == "noise":
                frame = gaussian_noise(frame, value, index)
            elif kind == "blur":
                frame = blur(frame, value)
            elif kind == "uap":
                if self.uap is None:
                    raise ValueError(f"shift {self.name!r} has a uap step but no perturbation (uap=...)")
                frame = add_uap(frame, self.uap, box)
        return frame


_VALUED = {"lr", "uap", "noise", "blur"}
_PLAIN = {"gray", "thermal"}


def parse_shift(name: str, uap: np.ndarray | None = None) -> NamedShift:
    """``"lr-52+gray"`` -> a callable applying low resolution, then grey. ``"clean"`` is the identity."""
    steps: list[tuple[str, float]] = []
    if name not in ("", "clean"):
        for part in name.split("+"):
            kind, _, value = part.partition("-")
            if kind in _PLAIN and not value:
                steps.append((kind, 0.0))
            elif kind in _VALUED and value:
                try:
                    v = float(value)
                except ValueError:
                    raise ValueError(f"shift {part!r}: {value!r} is not a number") from None
                if v <= 0:
                    raise ValueError(f"shift {part!r}: the value must be positive")
                steps.append((kind, v))
            else:
                raise ValueError(
                    f"unknown shift {part!r}; known: lr-<w>, uap-<eps>, gray, thermal, noise-<s>, blur-<s>"
                )
    if any(k == "uap" for k, _ in steps):
        eps = next(v for k, v in steps if k == "uap")
        if uap is None:
            raise ValueError("a uap shift needs the perturbation crafted against the regressor (uap=...)")
        if np.abs(uap).max() > eps + 1e-6:
            raise ValueError(f"the perturbation exceeds its L-inf bound of {eps}/255")
    return NamedShift(name=name, steps=tuple(steps), uap=uap)
