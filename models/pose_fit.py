"""The served body's limbs and camera fitted to the person's silhouette, without torch (issue 19).

On real footage the regressor reads too little of a person's limbs, and no camera lays its mesh
over them: the camera fitted to the silhouette (``models.silhouette_camera``) takes mesh IoU on the
labelled clips to 0.48-0.53, where Algorithm 1's own per-crop fit (the CNN frozen, the pose moved)
reaches 0.56-0.64 in 10 steps, and with the pose held only 0.50-0.54 (docs/REAL_POSE.md, "2026-12-07,
early morning"): the cover comes from the limbs. That fit is a torch optimisation through a
differentiable rasteriser; the API serves with ONNX Runtime alone. This is the same idea without
torch: a few steps of SciPy's least squares on the rotations of the limbs' joints (hips, knees,
shoulders, elbows) and the camera, from the body and camera served so far.

The residuals, in the silhouette's pixels, with their Jacobian written out:

* each vertex of the fit mesh outside the silhouette: its distance to it (the distance transform of
  the silhouette's outside, sampled bilinearly; its slope for the Jacobian);
* each silhouette pixel the mesh does not cover: its offset from the projected vertex nearest it;
* priors: each fitted turn's angle (radians) times the root of ``prior`` (``off_hinge`` times more
  for a knee or an elbow turning about another axis than the one it bends about), and each moved
  joint's change of depth (metres) times the root of ``depth``: a silhouette says nothing of depth,
  and on renders a fit free in depth lays the limbs over the person wrongly in 3D.

A vertex moves with a joint's turn by the share of its skinning weights on that joint and the joints
below it: turning joint k by a small angle w (world axes) about its position c moves vertex v by
w x a, a = sum over those joints j of weight_vj (T_j rest_v - c) (``models.skinning``; rest_v before
skinning); the camera is weak perspective. The fitted body is served only where its mesh covers the
silhouette better, by IoU over the pixels the frame shows, than the body it started from, by
``min_gain``; the root's rotation is never changed (the turn round, the walk's heading and the
camera's tilt are decided elsewhere).

The fit is local: a silhouette pixel the mesh leaves uncovered pulls the vertex nearest it, so an arm
raised out of the body's outline and answered hanging pulls the head, never the arm. Where part of the
silhouette lies beyond the mesh's reach, each arm is first swung whole in the image plane to the
direction (of ``swing_deg``) that brings mesh and silhouette nearest (:func:`chamfer_px`), and the
fit starts from there; from a swung start the fit is also served where it lies nearer the silhouette
by ``min_swing_gain`` and gives up at most ``swing_iou_slack`` of IoU.

    fitter = PoseFitter.of(body_model_data(path))       # models.smpl_file
    fit = fitter.fit(pose, betas, joints, vertices, camera, silhouette)   # PoseFit
    fit.pose, fit.joints, fit.vertices, fit.camera                        # what to serve
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy import optimize, sparse, spatial

from models.body_layout import JOINT_NAMES
from models.limb_swing import SWUNG_JOINTS, chamfer_px, point_limb
from models.mesh_mask import crop_pixels, mesh_mask
from models.skinning import Posed, Skinning, axis_angle_to_matrices, matrices_to_axis_angle

LIMBS: tuple[str, ...] = (
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
)
LIMB_JOINTS: tuple[int, ...] = tuple(JOINT_NAMES.index(n) for n in LIMBS)
# The spine too, so that a person bending over is not answered upright with their limbs flung out
# (on renders and both labelled clips it covers more and places joints no worse; docs/REAL_POSE.md).
FIT_JOINTS: tuple[int, ...] = LIMB_JOINTS + tuple(JOINT_NAMES.index(n) for n in ("spine1", "spine2", "spine3"))
# The axis, in the joint's own frame (SMPL's), a knee or an elbow bends about: turns about the other two
# (a knee bent sideways, a forearm twisted) are held harder, by ``PoseFitConfig.off_hinge``.
HINGE_AXES: dict[int, int] = {
    JOINT_NAMES.index("left_knee"): 0,
    JOINT_NAMES.index("right_knee"): 0,
    JOINT_NAMES.index("left_elbow"): 1,
    JOINT_NAMES.index("right_elbow"): 1,
}
CAMERA_PARAMS = 3  # log s, t_x, t_y


@dataclass(frozen=True)
class PoseFitConfig:
    """joints: the joints whose rotations are fitted (SMPL order); iterations: the residual
    evaluations the least squares may make (each a skinning, a raster and a nearest-vertex search);
    prior: the objective's cost of one radian squared of a joint's rotation away from
    the regressor's, in squared silhouette pixels; depth: its cost of a square metre of the moved
    joints' depths away from the regressor's (a silhouette says nothing of depth); off_hinge: the
    prior's multiple for a knee's or an elbow's turns about other axes than the one it bends about
    (:data:`HINGE_AXES`); min_gain: the IoU with the silhouette the fitted
    body must add to be served; min_silhouette: the smallest share of the crop a silhouette must
    cover to be fitted to at all; min_detail_px: the fewest pixels of detail (``models.detail``) the
    person's height must span for their silhouette to show limbs at all."""

    # Chosen on held-out renders and checked on the labelled clips (docs/REAL_POSE.md, "Limbs fitted to
    # the silhouette"): a weaker prior (200) covers more but, free in depth, places joints worse in 3D.
    joints: tuple[int, ...] = FIT_JOINTS
    iterations: int = 10
    prior: float = 1000.0
    depth: float = 3000.0
    off_hinge: float = 10.0
    min_gain: float = 0.02
    min_silhouette: float = 0.02
    # Below this a limb is two or three pixels wide. On pets-walk (sharp frames) the fit lowered PCK for
    # people under 40 px tall (-0.02 to -0.03) and raised it above (+0.04 to +0.06); on the demo's
    # lr-32 site (4-14 px of detail a person) it cost 36 mm of PA-MPJPE (docs/REAL_POSE.md, "Limbs
    # only where the frame resolves them").
    min_detail_px: float = 40.0
    # Where part of the silhouette lies beyond the mesh's reach (a raised arm answered down), the fit's
    # pull goes to the nearest vertices, the head's or the shoulder's, and never lifts the arm. Each
    # arm (SWUNG_JOINTS) is then first tried with the shoulder-to-wrist line in the image plane at each of
    # these angles from the image's x axis (y down: 90 hangs, 270 is raised), kept where that takes
    # min_swing_gain off the distance between mesh and silhouette (docs/REAL_POSE.md, "raised arms
    # swung before the limb fit"; empty: no swings).
    swing_deg: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)
    # Out of reach: silhouette pixels farther than reach_px from the mesh, at least min_out_of_reach of
    # the silhouette's pixels (a walker's arm inside their blob leaves none, and is not swung).
    reach_px: float = 3.0
    min_out_of_reach: float = 0.03
    min_swing_gain: float = 0.1  # the share of the distance (chamfer_px) a swing must take off
    swing_iou_slack: float = 0.05  # the IoU a swung arm may give up (its boundary pixels, at 64 px)

    def __post_init__(self) -> None:
        if not self.joints or min(self.joints) < 1:
            raise ValueError(f"joints are non-root SMPL joints, got {self.joints}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.prior < 0:
            raise ValueError(f"prior must be >= 0, got {self.prior}")
        if self.depth < 0:
            raise ValueError(f"depth must be >= 0, got {self.depth}")
        if self.off_hinge < 1:
            raise ValueError(f"off_hinge multiplies the prior, >= 1, got {self.off_hinge}")
        if not 0 <= self.min_gain < 1:
            raise ValueError(f"min_gain is an IoU in [0, 1), got {self.min_gain}")
        if not 0 <= self.min_silhouette < 1:
            raise ValueError(f"min_silhouette is a share of the crop in [0, 1), got {self.min_silhouette}")
        if self.min_detail_px < 0:
            raise ValueError(f"min_detail_px is a height in pixels, >= 0, got {self.min_detail_px}")
        if any(not 0.0 <= a < 360.0 for a in self.swing_deg):
            raise ValueError(f"swing_deg are directions in [0, 360) degrees, got {self.swing_deg}")
        if self.reach_px < 0:
            raise ValueError(f"reach_px is a distance in silhouette pixels, >= 0, got {self.reach_px}")
        if not 0 <= self.swing_iou_slack < 1:
            raise ValueError(f"swing_iou_slack is an IoU in [0, 1), got {self.swing_iou_slack}")
        if not 0 <= self.min_swing_gain < 1:
            raise ValueError(f"min_swing_gain is a share of a distance in [0, 1), got {self.min_swing_gain}")
        if not 0 <= self.min_out_of_reach <= 1:
            raise ValueError(f"min_out_of_reach is a share of the silhouette in [0, 1], got {self.min_out_of_reach}")


@dataclass(frozen=True)
class PoseFit:
    """pose (72,), joints (24, 3) and vertices (V, 3) root-centred in camera axes, camera (3,): the
    body to serve (the one given where ``fitted`` is false); iou_before, iou_after: the fit mesh's
    IoU with the silhouette as given and as fitted (NaN where no fit was tried)."""

    pose: np.ndarray
    joints: np.ndarray
    vertices: np.ndarray
    camera: np.ndarray
    iou_before: float
    iou_after: float
    fitted: bool


def bilinear(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(H, W) image sampled at (N, 2) pixel points (x, y), clamped to the image -> (N,)."""
    h, w = image.shape
    x = np.clip(points[:, 0], 0.0, w - 1.0)
    y = np.clip(points[:, 1], 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def silhouette_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


@dataclass(frozen=True)
class _Target:
    """What the objective needs of one silhouette: the mask (S, S) bool, the distance (pixels) of each
    pixel to it and its slope (each (S, S)), and the pixels to judge the mesh over (visible)."""

    mask: np.ndarray
    distance: np.ndarray
    slope_x: np.ndarray
    slope_y: np.ndarray
    visible: np.ndarray

    @classmethod
    def of(cls, silhouette: np.ndarray, visible: np.ndarray | None) -> _Target:
        mask = np.asarray(silhouette, bool)
        seen = np.ones_like(mask) if visible is None else np.asarray(visible, bool)
        # Distance to the nearest silhouette pixel; nothing is known of where the frame shows nothing.
        distance = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * seen
        slope_y, slope_x = np.gradient(distance)
        return cls(mask, distance, slope_x, slope_y, seen)

    def chamfer(self, mesh: np.ndarray) -> float:
        """:func:`models.limb_swing.chamfer_px` of a mesh's mask (S, S) and this silhouette."""
        return chamfer_px(mesh, self.mask, self.distance, self.visible)


class PoseFitter:
    """The fit, bound to one body model: its skinning over the fit mesh's vertices and the fit mesh
    (the body model's render proxy where its file has one, the whole mesh otherwise)."""

    def __init__(self, data: dict[str, Any], config: PoseFitConfig = PoseFitConfig(), num_betas: int = 10):
        self.config = config
        self.body = Skinning.of(data, num_betas=num_betas)
        if "proxy_faces" in data:
            ids = np.asarray(data["proxy_vertex_ids"], np.int64)  # (P, 3) into the mesh
            weights = np.asarray(data["proxy_vertex_weights"], np.float64)  # (P, 3)
            self.faces = np.asarray(data["proxy_faces"], np.int64)
        else:
            ids = np.arange(len(self.body.v_template))[:, None]
            weights = np.ones((len(ids), 1))
            self.faces = np.asarray(data["f"], np.int64)
        used, inverse = np.unique(ids, return_inverse=True)
        self.skin = Skinning.of(data, used, num_betas=num_betas)
        # fit-mesh vertex = map @ skinned vertices of ``used``: (P, U), a barycentric blend.
        rows = np.repeat(np.arange(len(ids)), ids.shape[1])
        self.map = sparse.csr_matrix((weights.ravel(), (rows, inverse.ravel())), shape=(len(ids), len(used)))
        self.below = np.stack([self.skin.descendants(k) for k in config.joints]).astype(np.float64)  # (K, J)
        self.moved = np.flatnonzero(self.below.any(0))  # the joints any fitted rotation moves
        # Each fitted turn's prior weight (3 K,): the prior, times off_hinge off a hinge's axis.
        stiff = np.ones((len(config.joints), 3))
        for k, j in enumerate(config.joints):
            if j in HINGE_AXES:
                stiff[k] = config.off_hinge
                stiff[k, HINGE_AXES[j]] = 1.0
        self.prior = config.prior * stiff.ravel()

    @classmethod
    def of(cls, data: dict[str, Any], config: PoseFitConfig = PoseFitConfig()) -> PoseFitter:
        return cls(data, config)

    # -- the objective --------------------------------------------------------------------------
    def _rotations(self, start: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """The regressor's local rotations (J, 3, 3) with each fitted joint's turned by its eta (K, 3)."""
        out = start.copy()
        for k, j in enumerate(self.config.joints):
            out[j] = start[j] @ cv2.Rodrigues(eta[k])[0]
        return out

    def _mesh(self, betas: np.ndarray, rotmats: np.ndarray) -> tuple[np.ndarray, Posed]:
        """Fit-mesh vertices (P, 3), root-centred, and the skinning they come from."""
        posed = self.skin.pose(betas, rotmats)
        return self.map @ posed.vertices - posed.joints[0], posed

    def _depth_jacobian(self, posed: Posed) -> np.ndarray:
        """d depth / d eta of the moved joints: (D, 3 K), each eta a turn in its joint's own axes."""
        out = np.zeros((len(self.moved), 3 * len(self.config.joints)))
        for k, j in enumerate(self.config.joints):
            arm = posed.joints[self.moved] - posed.joints[j]  # (D, 3); zero rows for joints not below j
            arm *= self.below[k, self.moved, None]
            # z of w x arm is w_x arm_y - w_y arm_x; the world turn w is R_j eta.
            dz = np.stack([arm[:, 1], -arm[:, 0], np.zeros(len(arm))], 1) @ posed.transforms[j, :3, :3]
            out[:, 3 * k : 3 * k + 3] = dz
        return out

    def _blend(self, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each fit-mesh vertex's share of each moved joint's skinning: the rest positions (U, 3) of the
        skinned vertices -> (P, D, 3) sum over u of map_pu weight_ud rest_u, and (P, D) the weights'
        blend; a moved joint's transform (R_d, t_d) takes vertex p's share to R_d a_pd + t_d w_pd."""
        weights = self.skin.weights[:, self.moved]  # (U, D)
        weighted = (weights[:, :, None] * rest[:, None, :]).reshape(len(rest), -1)
        return (self.map @ weighted).reshape(-1, len(self.moved), 3), self.map @ weights

    def _jacobian(
        self,
        posed: Posed,
        vertices: np.ndarray,
        camera: np.ndarray,
        size: int,
        blend: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """d pixels / d (eta (K, 3), log s, t_x, t_y): (P, 2, 3 K + 3) for the fit mesh's vertices
        (P, 3) as ``posed`` skins them, each eta a turn in its joint's own axes (taken at zero);
        ``blend``: :meth:`_blend` of ``posed.rest`` where already known (it changes only with the shape,
        or with the pose where the body model has pose blend shapes)."""
        scale = camera[0] * size / 2.0
        rest_share, share = self._blend(posed.rest) if blend is None else blend
        tf = posed.transforms[self.moved]  # (D, 4, 4)
        # Each moved joint's transform of each fit-mesh vertex's share of it: (D, P, 3).
        mapped = (
            rest_share.transpose(1, 0, 2) @ tf[:, :3, :3].transpose(0, 2, 1) + share.T[:, :, None] * tf[:, None, :3, 3]
        )
        fitted = np.asarray(self.config.joints)
        below = self.below[:, self.moved]  # (K, D)
        # v moves by w x arm for a world turn w about joint k; arm (K, P, 3) = sum over d of below_kd mapped_pd,
        # less the joint's position times the vertex's share of the joints below it.
        arm = (below @ mapped.reshape(len(mapped), -1)).reshape(len(below), -1, 3)
        arm -= (below @ share.T)[:, :, None] * posed.joints[fitted][:, None]
        # The joint's local turn eta is the world turn R_k eta; only x and y reach the pixels:
        # d(w x arm)_xy / d w = [[0, arm_z, -arm_y], [-arm_z, 0, arm_x]], times R_k.
        rot = posed.transforms[fitted, None, :3, :3]  # (K, 1, 3, 3)
        ax, ay, az = arm[..., 0:1], arm[..., 1:2], arm[..., 2:3]
        d_x = az * rot[:, :, 1] - ay * rot[:, :, 2]  # (K, P, 3)
        d_y = ax * rot[:, :, 2] - az * rot[:, :, 0]
        d_local = np.stack([d_x, d_y], 2)  # (K, P, 2, 3)
        out = np.empty((len(vertices), 2, 3 * len(fitted) + CAMERA_PARAMS))
        out[:, :, : 3 * len(fitted)] = scale * d_local.transpose(1, 2, 0, 3).reshape(len(vertices), 2, -1)
        out[:, :, -CAMERA_PARAMS:] = 0.0
        out[:, :, -CAMERA_PARAMS] = scale * vertices[:, :2]  # d / d log s
        out[:, 0, -2] = out[:, 1, -1] = size / 2.0
        return out

    # -- arms swung before the fit ----------------------------------------------------------------
    def _cover(self, betas: np.ndarray, rotmats: np.ndarray, camera: np.ndarray, target: _Target) -> np.ndarray:
        """The body's mask over the silhouette's grid (S, S) bool, as the fit rasterises it."""
        mesh, _ = self._mesh(betas, rotmats)
        points = crop_pixels(mesh[:, :2], camera, target.mask.shape[0])
        return mesh_mask(points, self.faces, target.mask.shape, front_only=True)

    def _swung(
        self, betas: np.ndarray, rotmats: np.ndarray, camera: np.ndarray, target: _Target
    ) -> tuple[np.ndarray, float, float]:
        """The start for the fit: rotmats with each arm swung (:data:`SWUNG_JOINTS`: shoulder to wrist
        pointed in the image plane at one of ``swing_deg``, the one nearest the silhouette) where the
        silhouette reaches out of the given mesh's reach and the swing brings the two nearer by
        ``min_swing_gain``; the given body's IoU with the silhouette; and its distance from it
        (:func:`chamfer_px`: a thin arm a few degrees off is near where it overlaps nothing), infinite
        where no swing was tried (the start is then the one given)."""
        cfg = self.config
        mask = self._cover(betas, rotmats, camera, target)
        given = silhouette_iou(mask & target.visible, target.mask)
        if not cfg.swing_deg:
            return rotmats, given, float("inf")
        far = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > cfg.reach_px
        if (far & target.mask & target.visible).sum() < cfg.min_out_of_reach * max(int(target.mask.sum()), 1):
            return rotmats, given, float("inf")
        near_given = target.chamfer(mask)
        best, start = near_given, rotmats
        for joint in SWUNG_JOINTS:
            chosen = start
            # (Each also tried unbent, the elbow straight, on the rendered jumping jacks: 0.005 more
            # PCK on the frames of the exercise, for twice the time; docs/REAL_POSE.md.)
            for degrees in cfg.swing_deg:
                trial = point_limb(self.skin, betas, start, joint, degrees)
                near = target.chamfer(self._cover(betas, trial, camera, target))
                if near <= best * (1.0 - cfg.min_swing_gain):
                    best, chosen = near, trial
            start = chosen
        return start, given, near_given

    # -- the fit --------------------------------------------------------------------------------
    def fit(
        self,
        pose: np.ndarray,
        betas: np.ndarray,
        joints: np.ndarray,
        vertices: np.ndarray,
        camera: np.ndarray,
        silhouette: np.ndarray,
        visible: np.ndarray | None = None,
        detail_px: float | None = None,
    ) -> PoseFit:
        """One body: pose (72,) axis-angle, betas (B,), joints (24, 3) and vertices (V, 3) as served
        (root-centred, camera axes), its crop camera (3,), the person's silhouette (S, S) bool and,
        for a person the frame's edge cuts, the crop's pixels the frame shows
        (``models.crops.in_frame``); the person's height in pixels of detail where known
        (``models.detail.person_detail_px``) -> the body fitted, or as given where the frame resolves
        the person too coarsely or the fit gains too little."""
        cfg = self.config
        pose = np.asarray(pose, np.float64)
        camera = np.asarray(camera, np.float64)
        sil = np.asarray(silhouette, bool)
        if pose.shape != (3 * self.skin.num_joints,) or camera.shape != (3,):
            raise ValueError(
                f"pose is ({3 * self.skin.num_joints},) and camera (3,), got {pose.shape} and {camera.shape}"
            )
        if sil.ndim != 2 or sil.shape[0] != sil.shape[1]:
            raise ValueError(f"the silhouette is a square (S, S) mask, got {sil.shape}")
        given = PoseFit(pose, np.asarray(joints), np.asarray(vertices), camera, float("nan"), float("nan"), False)
        if not camera[0] > 0 or sil.sum() < cfg.min_silhouette * sil.size:
            return given
        if detail_px is not None and detail_px < cfg.min_detail_px:
            return given
        betas = np.asarray(betas, np.float64)
        target = _Target.of(sil, visible)
        given_rotmats = axis_angle_to_matrices(pose)
        start, before, near_before = self._swung(betas, given_rotmats, camera, target)
        problem = _Problem(self, start, betas, camera, target)
        x0 = np.zeros(problem.size)
        if cfg.iterations:
            # Levenberg-Marquardt (MINPACK, through SciPy) on the residuals and their Jacobian; the residuals
            # are piecewise smooth (which pixels the mesh covers changes in steps), and a step is kept
            # only where it lowers their squares.
            x = optimize.least_squares(
                problem.residuals, x0, jac=problem.jacobian, method="lm", max_nfev=cfg.iterations
            ).x
        else:
            x = x0
        after = problem.covers(x)
        # A swung arm as thin as a raised one is at 64 px may cover a few boundary pixels less than the
        # given body hid it with; it is served where it lies nearer the silhouette by min_swing_gain
        # and gives up at most swing_iou_slack of IoU.
        swung_nearer = (
            start is not given_rotmats
            and after >= before - cfg.swing_iou_slack
            and target.chamfer(problem.mesh_mask(x)) <= near_before * (1.0 - cfg.min_swing_gain)
        )
        if after < before + cfg.min_gain and not swung_nearer:
            return PoseFit(pose, given.joints, given.vertices, camera, before, after, False)
        rotmats, cam = problem.rotations(x), problem.camera(x)
        whole = self.body.pose(problem.betas, rotmats)
        root = whole.joints[0]
        fitted = pose.copy()
        fitted[3:] = matrices_to_axis_angle(rotmats[1:])  # the root's rotation stays the one given
        return PoseFit(fitted, whole.joints - root, whole.vertices - root, cam, before, after, True)


class _Problem:
    """One body's fit as a least-squares problem in x = (each fitted joint's turn eta (K, 3) in its
    own axes, log of the camera's scale over the one given, the camera's shift): the residuals, in
    silhouette pixels, and their Jacobian (rows, 3 K + 3)."""

    def __init__(
        self,
        fitter: PoseFitter,
        start: np.ndarray,
        betas: np.ndarray,
        camera: np.ndarray,
        target: _Target,
    ):
        self.fitter, self.start, self.betas, self.camera0 = fitter, start, betas, camera
        self.target = target
        self.image_size = target.mask.shape[0]
        rows, cols = np.nonzero(target.mask)
        self.pixels = np.stack([cols, rows], 1).astype(np.float64)  # (M, 2) the silhouette's pixels, x y
        self.pixel_index = (rows, cols)
        self.n_rot = 3 * len(fitter.config.joints)
        self.size = self.n_rot + CAMERA_PARAMS
        self.prior_root = np.sqrt(fitter.prior)
        self.depth_root = np.sqrt(fitter.config.depth)
        self._key: bytes | None = None
        self._raster_key: bytes | None = None
        # The fit mesh's skinning blend of the rest shape (PoseFitter._blend): the shape is the fit's own,
        # so it is made once, unless pose blend shapes move the rest with every pose tried.
        self._blend: tuple[np.ndarray, np.ndarray] | None = None
        self.depth0 = self._body(np.zeros(self.size))[1].joints[fitter.moved, 2]

    def rotations(self, x: np.ndarray) -> np.ndarray:
        return self.fitter._rotations(self.start, x[: self.n_rot].reshape(-1, 3))

    def camera(self, x: np.ndarray) -> np.ndarray:
        c = self.camera0
        return np.array([c[0] * np.exp(x[self.n_rot]), c[1] + x[self.n_rot + 1], c[2] + x[self.n_rot + 2]])

    def _body(self, x: np.ndarray) -> tuple[np.ndarray, Posed, np.ndarray]:
        """x's fit mesh (P, 3), its skinning and its pixels (P, 2); the last x's kept (scipy asks
        for the residuals and then the Jacobian at the same x)."""
        key = x.tobytes()
        if key != self._key:
            mesh, posed = self.fitter._mesh(self.betas, self.rotations(x))
            self._last = (mesh, posed, crop_pixels(mesh[:, :2], self.camera(x), self.image_size))
            self._key = key
        return self._last

    def _raster(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x's mesh's silhouette (S, S) bool and the vertex nearest each silhouette pixel (M,); the
        last x's kept, as :meth:`_body` keeps its body (the residuals, the Jacobian and the IoU all
        read them)."""
        key = x.tobytes()
        if key != self._raster_key:
            points = self._body(x)[2]
            mesh = mesh_mask(points, self.fitter.faces, self.target.mask.shape, front_only=True)
            _, nearest = spatial.cKDTree(points).query(self.pixels)
            self._raster_last = (mesh, nearest)
            self._raster_key = key
        return self._raster_last

    def _coverage(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether x's mesh covers each silhouette pixel (M,), and the vertex nearest each (M,)."""
        mesh, nearest = self._raster(x)
        return mesh[self.pixel_index], nearest

    def mesh_mask(self, x: np.ndarray) -> np.ndarray:
        """x's mesh's silhouette (S, S) bool."""
        return self._raster(x)[0]

    def covers(self, x: np.ndarray) -> float:
        """x's mesh's IoU with the silhouette, over the pixels the frame shows."""
        return silhouette_iou(self._raster(x)[0] & self.target.visible, self.target.mask)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Each fit-mesh vertex's distance outside the silhouette (P,); each silhouette pixel the mesh
        leaves uncovered, its offset from the vertex nearest it (2 M; zero where covered); the priors
        (each turn's and each moved joint's depth change, scaled by their weights' roots)."""
        _, posed, points = self._body(x)
        covered, nearest = self._coverage(x)
        offsets = (points[nearest] - self.pixels) * ~covered[:, None]
        return np.concatenate(
            [
                bilinear(self.target.distance, points),
                offsets.ravel(),
                self.prior_root * x[: self.n_rot],
                self.depth_root * (posed.joints[self.fitter.moved, 2] - self.depth0),
            ]
        )

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """d residuals / d x, (P + 2 M + 3 K + D, 3 K + 3)."""
        mesh, posed, points = self._body(x)
        if self._blend is None or self.fitter.skin.pose_blend:
            self._blend = self.fitter._blend(posed.rest)
        jac = self.fitter._jacobian(posed, mesh, self.camera(x), self.image_size, self._blend)  # (P, 2, n)
        outside = bilinear(self.target.distance, points) > 0
        slope = np.stack([bilinear(self.target.slope_x, points), bilinear(self.target.slope_y, points)], 1)
        covered, nearest = self._coverage(x)
        prior = np.zeros((self.n_rot, self.size))
        prior[:, : self.n_rot] = np.diag(self.prior_root)
        depth = np.zeros((len(self.depth0), self.size))
        depth[:, : self.n_rot] = self.depth_root * self.fitter._depth_jacobian(posed)
        return np.concatenate(
            [
                np.einsum("pa,pan->pn", slope, jac) * outside[:, None],
                (jac[nearest] * ~covered[:, None, None]).reshape(-1, self.size),
                prior,
                depth,
            ]
        )
