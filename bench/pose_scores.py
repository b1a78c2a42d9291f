"""Scores of served meshes and joints on real footage (issue 19): pure functions on NumPy arrays, no I/O.

    mask = mesh_mask(pixels, faces, (H, W))                  # the mesh's filled silhouette in the frame
    iou = masked_iou(mask, person.mask, scored(gt))         # against a labelled person, 170 left out
    hits, counted = pck(pred_2d, blaze_2d, visible, box_height(boxes))   # PCK@0.1 of box height
    mm = pa_error_mm(pred_3d, blaze_world)                  # (N,) after a similarity Procrustes alignment

Joints compared with BlazePose are the 12 limb joints of :data:`LIMB_NAMES` (shoulders, elbows,
wrists, hips, knees, ankles, left before right): :func:`smpl_limbs` picks them out of SMPL's 24
(``models.body_layout.JOINT_NAMES``), :func:`blazepose_limbs` out of BlazePose's 33 landmarks
(11-16 and 23-28). Left and right are the person's own in both.

The fixed skeleton the issue sets beside the model (a model that read no articulation would score as
well as it): in 2D, :func:`fixed_skeleton_2d` puts the mean of the answered joints in crop coordinates
into each box's crop square; in 3D, :func:`procrustes_mean` is the mean of the answered root-centred
joints after each is rotated onto it (so that headings do not average the limbs away).
"""

from __future__ import annotations

import numpy as np

from models import heading
from models.body_layout import JOINT_NAMES

# Re-exported: the scorer rasterises meshes exactly as the served camera fit does.
from models.mesh_mask import mesh_mask as mesh_mask
from models.mesh_mask import triangle_pixels as triangle_pixels
from models.people.extent import EDGE_MARGIN_PX, inside

LIMB_NAMES: tuple[str, ...] = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NUM_LIMBS = len(LIMB_NAMES)
SMPL_LIMB_IDS: tuple[int, ...] = tuple(JOINT_NAMES.index(n) for n in LIMB_NAMES)
# BlazePose's 33 landmarks: 11/12 shoulders, 13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees,
# 27/28 ankles (left, right), as mediapipe.solutions.pose.PoseLandmark numbers them.
BLAZEPOSE_NUM_LANDMARKS = 33
BLAZEPOSE_LIMB_IDS: tuple[int, ...] = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
# LIMB_NAMES with left and right swapped (the mirror of each limb joint).
LIMB_MIRROR: tuple[int, ...] = tuple(i + 1 if i % 2 == 0 else i - 1 for i in range(NUM_LIMBS))

PCK_THRESHOLD = 0.1  # of the box's height
VISIBILITY_MIN = 0.5  # BlazePose's visibility above which a landmark is scored
MM_PER_M = 1000.0
PROCRUSTES_MEAN_ITERATIONS = 5
# A box answered for a rendered person holds their joints; the margin forgives a box cut a little tight.
TRUTH_BOX_MARGIN = 0.1


# -- joints ------------------------------------------------------------------------------------------


def smpl_limbs(joints: np.ndarray) -> np.ndarray:
    """(..., 24, D) SMPL joints -> (..., 12, D) limb joints in :data:`LIMB_NAMES` order."""
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != len(JOINT_NAMES):
        raise ValueError(f"SMPL joints are (..., {len(JOINT_NAMES)}, D), got shape {joints.shape}")
    return joints[..., SMPL_LIMB_IDS, :]


def blazepose_limbs(landmarks: np.ndarray) -> np.ndarray:
    """(..., 33, D) or (..., 33) BlazePose landmarks (or their visibilities) -> (..., 12, D) or (..., 12)."""
    landmarks = np.asarray(landmarks)
    axis = -2 if landmarks.ndim >= 2 and landmarks.shape[-2] == BLAZEPOSE_NUM_LANDMARKS else -1
    if landmarks.shape[axis] != BLAZEPOSE_NUM_LANDMARKS:
        raise ValueError(f"BlazePose landmarks are (..., 33, D) or (..., 33), got shape {landmarks.shape}")
    return np.take(landmarks, BLAZEPOSE_LIMB_IDS, axis=axis)


def mirrored(limbs: np.ndarray) -> np.ndarray:
    """(..., 12, D) limb joints -> the same with left and right swapped."""
    return np.asarray(limbs)[..., LIMB_MIRROR, :]


# -- 2D agreement ----------------------------------------------------------------------------------


# Facing: a person seen from the front shows their left shoulder and hip on the image's right.
FACING_PAIRS = (
    (LIMB_NAMES.index("left_shoulder"), LIMB_NAMES.index("right_shoulder")),
    (LIMB_NAMES.index("left_hip"), LIMB_NAMES.index("right_hip")),
)


def facing(limbs: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(N, 12, 2) limb joints in image pixels, (N,) box heights -> (N,) +1 facing the camera, -1
    away, 0 neither clearly: the service's own test (:func:`models.heading.facing`) on this layout."""
    return heading.facing(limbs, heights, pairs=FACING_PAIRS)


def torso_seen(visible: np.ndarray) -> np.ndarray:
    """(N, 12) visible -> (N,) bool: the boxes whose shoulders and hips are all visible."""
    return np.asarray(visible)[:, [i for pair in FACING_PAIRS for i in pair]].all(axis=1)


def clear_facings(
    pred: np.ndarray, target: np.ndarray, visible: np.ndarray, heights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(compared (N,) bool, the model's facing (N,), the reference's (N,)): compared where both face
    clearly one way and the reference's shoulders and hips are all visible. Shapes as :func:`pck_hits`."""
    a, b = facing(pred, heights), facing(target, heights)
    return torso_seen(visible) & (a != 0) & (b != 0), a, b


def facing_agreement(pred: np.ndarray, target: np.ndarray, visible: np.ndarray, heights: np.ndarray) -> tuple[int, int]:
    """(agreeing, compared): of the boxes :func:`clear_facings` compares, how many face the same way."""
    compared, a, b = clear_facings(pred, target, visible, heights)
    return int(np.count_nonzero(compared & (a == b))), int(np.count_nonzero(compared))


def facing_as(pred: np.ndarray, target: np.ndarray, visible: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """The model's limb joints with left and right swapped wherever it clearly faces the other way
    from the reference (shapes as :func:`pck_hits`): what reading the heading right, and nothing
    else, would give. The swap is the mirror through the image plane, which keeps every joint's
    image position and turns the body round."""
    compared, a, b = clear_facings(pred, target, visible, heights)
    return np.where((compared & (a != b))[:, None, None], mirrored(pred), pred)


def torso_width_ratio(pred: np.ndarray, target: np.ndarray, visible: np.ndarray) -> float:
    """(N, 12, 2) x2 limb joints in image pixels, (N, 12) visible -> the median over the boxes whose
    shoulders and hips are all visible of the model's shoulder width plus hip width in the image
    over the reference's (NaN where none): how far the model draws a body's two sides apart. A model
    that hedges between a body and its turned-round twin draws them together (docs/REAL_POSE.md,
    "Two bodies in one crop")."""
    seen = torso_seen(visible)

    def width(limbs: np.ndarray) -> np.ndarray:
        return sum(np.linalg.norm(limbs[:, a] - limbs[:, b], axis=-1) for a, b in FACING_PAIRS)

    ref = width(np.asarray(target, np.float64)[seen])
    ok = ref > 0
    if not ok.any():
        return float("nan")
    return float(np.median(width(np.asarray(pred, np.float64)[seen])[ok] / ref[ok]))


def clear_of_edge(boxes: np.ndarray, shape: tuple[int, int], margin: float = EDGE_MARGIN_PX) -> np.ndarray:
    """(N, 4) boxes in pixel edges, frame (H, W) -> (N,) bool: no edge of the frame cuts the box, as
    the service's finder decides it (:func:`models.people.extent.inside`: more than ``margin`` pixels
    between the box and every edge), so the report's cut boxes are the ones served cropped past it."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.array([inside(tuple(box), shape, margin) for box in b], dtype=bool)


def box_height(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) boxes (x0, y0, x1, y1) -> (N,) heights y1 - y0 in pixels."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes are (N, 4), got shape {boxes.shape}")
    h = boxes[:, 3] - boxes[:, 1]
    if np.any(h <= 0):
        raise ValueError("a box has no height")
    return h


def pck_hits(
    pred: np.ndarray, target: np.ndarray, visible: np.ndarray, heights: np.ndarray, threshold: float = PCK_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Per joint, is a predicted point within ``threshold`` x its box's height of the target?

    pred, target: (N, J, 2) pixels; visible: (N, J) bool, the joints that count; heights: (N,) pixels.
    Returns (hits (N, J) bool, counted (N, J) bool); a joint that does not count is never a hit."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    visible, heights = np.asarray(visible, bool), np.asarray(heights, np.float64)
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must both be (N, J, 2)")
    if visible.shape != pred.shape[:2] or heights.shape != pred.shape[:1]:
        raise ValueError(f"visible {visible.shape} must be (N, J) and heights {heights.shape} (N,)")
    counted = visible & np.isfinite(target).all(-1) & np.isfinite(pred).all(-1)
    dist = np.linalg.norm(pred - target, axis=-1)
    hits = counted & (dist <= threshold * heights[:, None])
    return hits, counted


def pck(
    pred: np.ndarray, target: np.ndarray, visible: np.ndarray, heights: np.ndarray, threshold: float = PCK_THRESHOLD
) -> tuple[int, int]:
    """(hits, counted joints) over every box: PCK = hits / counted. Shapes as :func:`pck_hits`."""
    hits, counted = pck_hits(pred, target, visible, heights, threshold)
    return int(hits.sum()), int(counted.sum())


def distance_over_height(a: np.ndarray, b: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(N, J, 2) and (N, J, 2) pixels, (N,) box heights -> (N, J) point distances in box heights."""
    a, b, heights = (np.asarray(x, np.float64) for x in (a, b, heights))
    if a.shape != b.shape or a.ndim != 3 or heights.shape != a.shape[:1]:
        raise ValueError(f"points {a.shape} and {b.shape} must be (N, J, 2) and heights {heights.shape} (N,)")
    return np.linalg.norm(a - b, axis=-1) / heights[:, None]


def visible_limbs(visibility: np.ndarray, found: np.ndarray, minimum: float = VISIBILITY_MIN) -> np.ndarray:
    """(N, 33) BlazePose visibilities, (N,) whether BlazePose found the person -> (N, 12) bool: the limb
    joints scored (visibility above ``minimum`` in a box where a person was found)."""
    vis = blazepose_limbs(np.nan_to_num(np.asarray(visibility, np.float64), nan=0.0))
    return (vis > minimum) & np.asarray(found, bool)[:, None]


def to_crop(points: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """(N, J, 2) frame pixels, (N, 3) crop squares (cx, cy, side) -> (N, J, 2) crop coordinates in
    [-1, 1] across the square's outer edges (models.crops.pixels_to_crop, one square per row)."""
    squares = np.asarray(squares, np.float64)
    return (np.asarray(points, np.float64) - squares[:, None, :2]) / (squares[:, None, 2:3] / 2)


def from_crop(points: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """(N, J, 2) crop coordinates, (N, 3) crop squares -> (N, J, 2) frame pixels (inverse of :func:`to_crop`)."""
    squares = np.asarray(squares, np.float64)
    return np.asarray(points, np.float64) * (squares[:, None, 2:3] / 2) + squares[:, None, :2]


def fixed_skeleton_2d(joints_2d: np.ndarray, squares: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """The fixed skeleton in 2D: (N, J, 2) answered joints in frame pixels, (N, 3) their crop squares
    -> (N, J, 2): the mean of the joints in crop coordinates over the ``reference`` rows ((N,) bool;
    all N where None or none is set), put into each row's square."""
    crop = to_crop(joints_2d, squares)
    rows = np.ones(len(crop), bool) if reference is None or not np.any(reference) else np.asarray(reference, bool)
    mean = crop[rows].mean(0, keepdims=True)
    return from_crop(np.repeat(mean, len(squares), 0), squares)


# -- 3D agreement ----------------------------------------------------------------------------------


def similarity_align(pred: np.ndarray, target: np.ndarray, scale: bool = True) -> np.ndarray:
    """(N, J, 3) -> (N, J, 3): each pred moved by the rotation (no reflection), translation and (with
    ``scale``) scale that best fit its target in least squares (Umeyama)."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must both be (N, J, 3)")
    mu_p, mu_t = pred.mean(1, keepdims=True), target.mean(1, keepdims=True)
    p, t = pred - mu_p, target - mu_t
    u, s, vh = np.linalg.svd(np.swapaxes(p, 1, 2) @ t)
    d = np.sign(np.linalg.det(u @ vh))
    d = np.where(d == 0, 1.0, d)
    signs = np.stack([np.ones_like(d), np.ones_like(d), d], -1)  # (N, 3)
    rot = u @ (signs[:, :, None] * vh)  # applied as p @ rot
    k = np.ones(len(p))
    if scale:
        norm = (p**2).sum((1, 2))
        k = np.where(norm > 0, (s * signs).sum(-1) / np.where(norm > 0, norm, 1.0), 1.0)
    return k[:, None, None] * p @ rot + mu_t


def pa_error_mm(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, J, 3) joints in metres -> (N,) mean joint distance in mm after :func:`similarity_align`."""
    aligned = similarity_align(pred, target)
    return MM_PER_M * np.linalg.norm(aligned - np.asarray(target, np.float64), axis=-1).mean(-1)


def procrustes_mean(joints: np.ndarray, iterations: int = PROCRUSTES_MEAN_ITERATIONS) -> np.ndarray:
    """(N, J, 3) root-centred joints -> (J, 3): their mean after rotating each onto the mean (no
    scale), repeated ``iterations`` times from the plain mean: the fixed skeleton in 3D."""
    joints = np.asarray(joints, np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3 or len(joints) == 0:
        raise ValueError(f"joints are (N, J, 3) with N >= 1, got shape {joints.shape}")
    centred = joints - joints.mean(1, keepdims=True)
    mean = centred[0]  # the plain mean can cancel out when headings are spread; start from a real skeleton
    for _ in range(iterations):
        aligned = similarity_align(centred, np.broadcast_to(mean, centred.shape), scale=False)
        mean = aligned.mean(0)
    return mean


# -- mesh silhouettes ------------------------------------------------------------------------------


def box_mask(box, shape: tuple[int, int]) -> np.ndarray:
    """A box (x0, y0, x1, y1) in pixel edges -> (H, W) bool: the pixels whose centres it holds
    (x0 <= c < x1), the filled-box baseline."""
    x0, y0, x1, y1 = (float(v) for v in box)
    h, w = shape
    cols, rows = np.arange(w), np.arange(h)
    return ((rows >= y0) & (rows < y1))[:, None] & ((cols >= x0) & (cols < x1))[None, :]


def masked_iou(pred: np.ndarray, truth: np.ndarray, keep: np.ndarray) -> float:
    """IoU of two (H, W) bool masks over the pixels ``keep`` (H, W) bool marks as scored (CDnet's 170
    band and what lies outside the region of interest left out); NaN when the union is empty."""
    pred, truth, keep = (np.asarray(m, bool) for m in (pred, truth, keep))
    if not pred.shape == truth.shape == keep.shape:
        raise ValueError(f"masks of shapes {pred.shape}, {truth.shape}, {keep.shape} differ")
    union = np.count_nonzero((pred | truth) & keep)
    return np.count_nonzero(pred & truth & keep) / union if union else float("nan")


# -- rendered truth ---------------------------------------------------------------------------------


def truth_person(boxes: np.ndarray, people: np.ndarray, margin: float = TRUTH_BOX_MARGIN) -> np.ndarray:
    """Which rendered person each answered box shows: (N, 4) boxes, (N, P, J, 2) the true joints of
    every person in each box's frame (pixels; NaN where unknown) -> (N,) int, the person with the most
    joints inside the box grown by ``margin`` of its height on every side, -1 where none has at least
    half of theirs there (ties: the lower index)."""
    boxes, people = np.asarray(boxes, np.float64), np.asarray(people, np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or people.ndim != 4 or people.shape[-1] != 2:
        raise ValueError(f"boxes {boxes.shape} must be (N, 4) and people {people.shape} (N, P, J, 2)")
    if people.shape[0] != boxes.shape[0]:
        raise ValueError(f"{boxes.shape[0]} boxes but true joints for {people.shape[0]}")
    if people.shape[1] == 0:
        return np.full(len(boxes), -1)
    pad = margin * (boxes[:, 3] - boxes[:, 1])
    lo = (boxes[:, :2] - pad[:, None])[:, None, None, :]
    hi = (boxes[:, 2:] + pad[:, None])[:, None, None, :]
    with np.errstate(invalid="ignore"):
        inside = ((people >= lo) & (people <= hi)).all(-1).sum(-1)  # (N, P)
    best = inside.argmax(1)
    enough = inside[np.arange(len(boxes)), best] * 2 >= people.shape[2]
    return np.where(enough, best, -1)


def in_image(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(..., 2) pixels (x, y), frame (H, W) -> (...) bool: inside the frame (pixel centres at integers)."""
    points = np.asarray(points, np.float64)
    h, w = shape
    with np.errstate(invalid="ignore"):
        x, y = points[..., 0], points[..., 1]
        return (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)


def rate(hits: int, counted: int) -> float:
    """hits / counted, NaN when nothing was counted."""
    return hits / counted if counted else float("nan")
