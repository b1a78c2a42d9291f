"""The served camera, fitted to the person's silhouette (issue 19).

The regressor answers a body and a weak-perspective camera (s, t_x, t_y) in its crop. On real
footage it is the camera, the body's size and place in the crop, that keeps most of the mesh off
the person: on the labelled clips the served meshes cover the labelled people at IoU 0.38 where the
finder's own silhouettes cover them at 0.70-0.90, and on real crops the regressor draws people about
a fifth too small. So serving keeps the regressor's body and refits its camera: the scale about the
mesh's centre (0.8-1.25 times the regressor's) and a small shift in the crop (two pixels of the
silhouette) under which the mesh covers the silhouette best (IoU), where that gains enough over the
regressor's own. Measured in docs/REAL_POSE.md, "The camera fitted to the silhouette": mesh IoU
0.38 -> 0.48 on both labelled clips, with PCK against BlazePose no lower; a wider shift covers more
of the silhouette but places the joints worse, since the body's limbs are not the person's.
A person cut by the frame's edge is fitted over the part of the crop the frame shows
(``visible``): the mesh may run on past the edge, as the person does.

The search is exhaustive on a grid and cheap. The mesh is rasterised once, at :data:`OVERSAMPLE`
times the silhouette's resolution; for each scale it is resampled onto the silhouette's grid (plus
a margin as wide as the largest shift), and one cross-correlation with the silhouette gives the
intersection at every whole-pixel shift at once. The union follows from the two areas (the mesh's
counted whole, also where it leaves the crop: the crop holds its person, so there is no person
there).

    fit = fit_camera(vertices[:, :2], camera, faces, silhouette)   # CameraFit
    camera = fit.camera                                            # (3,) what serving answers
    fitter = SilhouetteCamera(faces)                               # the same, faces bound (serving)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.mesh_mask import crop_pixels, mesh_mask

OVERSAMPLE = 2  # the mesh's raster, per silhouette pixel and axis; resampled down for each scale
MARGIN_PX = 2  # about the mesh's raster, so that its edge pixels resample whole
MESH_LEVEL = 254  # the raster's inside, in uint8; resampled, a pixel at half of it or more is mesh


def _default_scales() -> tuple[float, ...]:
    return tuple(round(float(k), 2) for k in np.arange(0.80, 1.26, 0.05))


@dataclass(frozen=True)
class CameraFitConfig:
    """scales: the mesh's sizes tried, relative to the regressor's, about the mesh's centre;
    max_shift: the largest shift tried, as a share of the crop's side, each way and axis; min_gain:
    the IoU with the silhouette the fitted camera must add to replace the regressor's, so that a
    silhouette that says little leaves the camera as it was; min_silhouette: the smallest share of
    the crop a silhouette must cover to be fitted to at all."""

    scales: tuple[float, ...] = _default_scales()
    # Two pixels of a 64-pixel silhouette. Wider shifts lay the mesh over more of the silhouette but
    # place its joints worse where the body's limbs are wrong (docs/REAL_POSE.md, "The camera fitted
    # to the silhouette": 0.15 lowers PCK on renders by 0.05, 0.03 does not).
    max_shift: float = 0.03
    min_gain: float = 0.02
    min_silhouette: float = 0.02

    def __post_init__(self) -> None:
        if not self.scales or min(self.scales) <= 0:
            raise ValueError(f"scales must be positive, got {self.scales}")
        if not 0 <= self.max_shift <= 0.5:
            raise ValueError(f"max_shift is a share of the crop's side in [0, 0.5], got {self.max_shift}")
        if not 0 <= self.min_gain < 1:
            raise ValueError(f"min_gain is an IoU in [0, 1), got {self.min_gain}")
        if not 0 <= self.min_silhouette < 1:
            raise ValueError(f"min_silhouette is a share of the crop in [0, 1), got {self.min_silhouette}")


@dataclass(frozen=True)
class CameraFit:
    """camera (3,): the crop weak perspective (s, t_x, t_y) to serve; iou_before, iou_after: the
    mesh's IoU with the silhouette under the regressor's camera and under ``camera`` (equal where
    the regressor's was kept); fitted: whether ``camera`` is not the regressor's."""

    camera: np.ndarray
    iou_before: float
    iou_after: float
    fitted: bool


def similarity_camera(camera: np.ndarray, scale: float, centre: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The camera under which each projected point u = s x + t moves to scale (u - centre) + centre +
    shift (crop coordinates): (s', t') = (scale s, scale t + (1 - scale) centre + shift). Shapes:
    camera (3,), centre (2,), shift (2,) -> (3,)."""
    camera = np.asarray(camera, np.float64)
    out = np.empty(3)
    out[0] = scale * camera[0]
    out[1:] = scale * camera[1:] + (1.0 - scale) * np.asarray(centre, np.float64) + np.asarray(shift, np.float64)
    return out


def _overlaps(
    raster: np.ndarray,
    to_crop: np.ndarray,
    scale: float,
    centre_px: np.ndarray,
    sil: np.ndarray,
    reach: int,
    pad: int,
    visible: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | float]:
    """The mesh scaled by ``scale`` about ``centre_px`` (silhouette pixels) and resampled onto the
    silhouette's grid, padded by ``pad`` >= ``reach`` so that it holds the whole mesh, then
    cross-correlated with the silhouette. Returns the intersections (2 reach + 1, 2 reach + 1), in
    silhouette pixels, of the mesh shifted by (reach - col, reach - row) pixels, and the mesh's area:
    all of it, or with ``visible`` the part over its pixels, per shift like the intersections.
    The resampled mesh is cut at one half, so that both count whole pixels as a fresh raster would."""
    size = sil.shape[0]
    # raster pixel -> crop pixel (to_crop, 2x3), then scaled about the centre, then into the padding.
    a = scale * to_crop[:, :2]
    b = scale * (to_crop[:, 2] - centre_px) + centre_px + pad
    side = size + 2 * pad
    warped = cv2.warpAffine(raster, np.hstack([a, b[:, None]]), (side, side), flags=cv2.INTER_LINEAR)
    mesh = (warped >= MESH_LEVEL // 2).view(np.uint8)
    window = mesh[pad - reach : side - pad + reach, pad - reach : side - pad + reach]
    inter = cv2.matchTemplate(window, sil, cv2.TM_CCORR)
    if visible is not None:
        return inter, cv2.matchTemplate(window, visible, cv2.TM_CCORR)
    return inter, float(cv2.countNonZero(mesh))


def fit_camera(
    vertices_xy: np.ndarray,
    camera: np.ndarray,
    faces: np.ndarray,
    silhouette: np.ndarray,
    config: CameraFitConfig = CameraFitConfig(),
    visible: np.ndarray | None = None,
) -> CameraFit:
    """The camera under which the body's mesh covers its silhouette best.

    vertices_xy (V, 2): the body's vertices, x and y in camera axes (root-centred); camera (3,): the
    regressor's crop weak perspective (s, t_x, t_y), projecting to crop coordinates in [-1, 1];
    faces (F, 3); silhouette (S, S) bool, the person's, cut like the crop; visible (S, S) bool or
    None: the crop's pixels that show the frame (``models.crops.in_frame``), where a person cut by
    the frame's edge is cut. The IoU is then taken over them only: the mesh may go on past the
    edge, as the person does."""
    vertices_xy = np.asarray(vertices_xy, np.float64)
    camera = np.asarray(camera, np.float64)
    sil_bool = np.asarray(silhouette, bool)
    if vertices_xy.ndim != 2 or vertices_xy.shape[1] != 2 or camera.shape != (3,):
        raise ValueError(f"vertices_xy is (V, 2) and camera (3,), got {vertices_xy.shape} and {camera.shape}")
    if sil_bool.ndim != 2 or sil_bool.shape[0] != sil_bool.shape[1]:
        raise ValueError(f"the silhouette is a square (S, S) mask, got {sil_bool.shape}")
    if visible is not None and np.shape(visible) != sil_bool.shape:
        raise ValueError(f"visible is a mask like the silhouette {sil_bool.shape}, got {np.shape(visible)}")
    size = sil_bool.shape[0]
    kept = CameraFit(camera, float("nan"), float("nan"), False)
    sil_area = float(sil_bool.sum())
    if not camera[0] > 0 or sil_area < config.min_silhouette * size * size:
        return kept

    # The projected mesh in silhouette pixels (centres at integers), rasterised once, finer.
    px = crop_pixels(vertices_xy, camera, size)
    first, last = px.min(0), px.max(0)
    lo = np.floor(first) - MARGIN_PX
    extent = np.ceil(last) + MARGIN_PX - lo
    shape = (int(extent[1] * OVERSAMPLE) + 1, int(extent[0] * OVERSAMPLE) + 1)
    # The faces turned towards the camera cover the silhouette of a closed mesh: half the work.
    raster = mesh_mask((px - lo) * OVERSAMPLE, faces, shape, front_only=True).view(np.uint8) * np.uint8(MESH_LEVEL)
    if not raster.any():
        return kept
    to_crop = np.array([[1.0 / OVERSAMPLE, 0.0, lo[0]], [0.0, 1.0 / OVERSAMPLE, lo[1]]])
    centre_px = (first + last) / 2.0
    reach = round(config.max_shift * size)
    # Padding that holds the mesh whole at the largest scale (its area counts outside the crop too),
    # up to a crop's side each way: a mesh reaching further is answered too far off to fit.
    grow = max(max(config.scales), 1.0)
    overflow = max(
        float(np.max(grow * (centre_px - first) - centre_px)),
        float(np.max(centre_px + grow * (last - centre_px) - (size - 1))),
    )
    pad = reach + min(int(np.ceil(max(overflow, 0.0))) + MARGIN_PX, size)
    sil = sil_bool.view(np.uint8)
    seen = None if visible is None else np.asarray(visible, bool).view(np.uint8)

    def ious(scale: float, shifts: int) -> np.ndarray:
        inter, area = _overlaps(raster, to_crop, scale, centre_px, sil, shifts, pad, seen)
        return inter / np.maximum(area + sil_area - inter, 1e-9)

    before = float(ious(1.0, 0)[0, 0])
    best, best_scale, best_rc = before, 1.0, (reach, reach)
    for scale in config.scales:
        iou = ious(scale, reach)
        r, c = np.unravel_index(int(np.argmax(iou)), iou.shape)
        if iou[r, c] > best:
            best, best_scale, best_rc = float(iou[r, c]), float(scale), (int(r), int(c))
    if best < before + config.min_gain:
        return CameraFit(camera, before, before, False)
    shift_px = np.array([reach - best_rc[1], reach - best_rc[0]], np.float64)
    centre = (centre_px + 0.5) * (2.0 / size) - 1.0  # crop coordinates
    fitted = similarity_camera(camera, best_scale, centre, shift_px * (2.0 / size))
    return CameraFit(fitted, before, best, True)


@dataclass(frozen=True)
class SilhouetteCamera:
    """:func:`fit_camera` with the body's faces (F, 3) and a config bound: what serving holds."""

    faces: np.ndarray
    config: CameraFitConfig = CameraFitConfig()

    def fit(
        self, vertices_xy: np.ndarray, camera: np.ndarray, silhouette: np.ndarray, visible: np.ndarray | None = None
    ) -> CameraFit:
        return fit_camera(vertices_xy, camera, self.faces, silhouette, self.config, visible)
