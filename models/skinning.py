"""The body model's linear blend skinning in NumPy: what serving needs to re-pose a body without torch.

The API serves with ONNX Runtime alone, so a body it changes after the regressor (the pose fitted to
the silhouette, ``models.pose_fit``) must be posed again without torch. This is smplx's ``lbs`` for
one body, from the same arrays (a body-model file in SMPL's layout, ``models.smpl_file``)::

    skin = Skinning.of(read_body_model_file(path))          # or Skinning.of(data, vertex_ids)
    posed = skin.pose(betas, rotmats)                       # (10,), (24, 3, 3)
    posed.vertices, posed.joints, posed.transforms          # (V', 3), (24, 3), (24, 4, 4)

With ``vertex_ids`` only those vertices are skinned (the joints still come from the whole mesh):
a fit needs the few vertices it looks at, not all of them, each time it tries a pose.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Posed:
    """vertices (V', 3) and joints (24, 3) in the body's frame (not root-centred); transforms
    (24, 4, 4): each joint's rigid transform, rest to posed, as skinning applies it (its rotation is
    the joint's world rotation); rest (V', 3): the vertices shaped and pose-corrected, before skinning."""

    vertices: np.ndarray
    joints: np.ndarray
    transforms: np.ndarray
    rest: np.ndarray


@dataclass(frozen=True)
class Skinning:
    """The arrays of linear blend skinning, for ``vertex_ids`` (V',) of the mesh (all by default).

    v_template (V', 3); shapedirs (V', 3, B); posedirs (V', 3, 9 (J - 1)); weights (V', J);
    joint_template (J, 3) and joint_shapedirs (J, 3, B): the joint regressor applied to the whole
    mesh's template and shape directions; parents (J,), -1 for the root."""

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    weights: np.ndarray
    joint_template: np.ndarray
    joint_shapedirs: np.ndarray
    parents: np.ndarray

    @classmethod
    def of(cls, data: dict[str, Any], vertex_ids: np.ndarray | None = None, num_betas: int = 10) -> Skinning:
        """From a body-model file's arrays (``models.smpl_file.read_body_model_file``)."""
        v_template = np.asarray(data["v_template"], np.float64)
        shapedirs = np.asarray(data["shapedirs"], np.float64)[:, :, :num_betas]
        if shapedirs.shape[-1] < num_betas:
            raise ValueError(f"num_betas={num_betas}: the file has {shapedirs.shape[-1]} shape directions")
        regressor = data["J_regressor"]
        if hasattr(regressor, "toarray"):  # a licensed file's sparse regressor
            regressor = regressor.toarray()
        regressor = np.asarray(regressor, np.float64)
        ids = np.arange(len(v_template)) if vertex_ids is None else np.asarray(vertex_ids, np.int64)
        parents = np.asarray(data["kintree_table"], np.int64)[0].copy()
        parents[0] = -1
        return cls(
            v_template=v_template[ids],
            shapedirs=np.ascontiguousarray(shapedirs[ids]),
            posedirs=np.ascontiguousarray(np.asarray(data["posedirs"], np.float64)[ids]),
            weights=np.asarray(data["weights"], np.float64)[ids],
            joint_template=regressor @ v_template,
            joint_shapedirs=np.einsum("jv,vcb->jcb", regressor, shapedirs),
            parents=parents,
        )

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @cached_property
    def pose_blend(self) -> bool:
        """Whether the pose corrects the rest shape at all: the project's open body model's pose
        blend shapes are all zero, and their product is most of a re-posing's arithmetic."""
        return bool(np.any(self.posedirs))

    def descendants(self, joint: int) -> np.ndarray:
        """(J,) bool: ``joint`` and every joint below it in the kinematic tree."""
        below = np.zeros(self.num_joints, bool)
        below[joint] = True
        for j in range(self.num_joints):  # parents come before their children (SMPL's order)
            if self.parents[j] >= 0 and below[self.parents[j]]:
                below[j] = True
        return below

    def pose(self, betas: np.ndarray, rotmats: np.ndarray) -> Posed:
        """betas (B,), rotmats (J, 3, 3) local joint rotations, root first -> the posed body."""
        betas = np.asarray(betas, np.float64)
        rotmats = np.asarray(rotmats, np.float64)
        if rotmats.shape != (self.num_joints, 3, 3):
            raise ValueError(f"rotmats must be ({self.num_joints}, 3, 3), got {rotmats.shape}")
        rest_joints = self.joint_template + self.joint_shapedirs @ betas
        # As 2D products: a third of the time of (V, 3, K) @ (K,).
        n = len(self.v_template)
        shaped = self.v_template + (self.shapedirs.reshape(3 * n, -1) @ betas).reshape(n, 3)
        rest = shaped
        if self.pose_blend:
            rest = shaped + (self.posedirs.reshape(3 * n, -1) @ (rotmats[1:] - np.eye(3)).reshape(-1)).reshape(n, 3)
        world = np.zeros((self.num_joints, 4, 4))
        for j, p in enumerate(self.parents):
            local = np.eye(4)
            local[:3, :3] = rotmats[j]
            local[:3, 3] = rest_joints[j] - (rest_joints[p] if p >= 0 else 0.0)
            world[j] = local if p < 0 else world[p] @ local
        joints = world[:, :3, 3].copy()
        transforms = world.copy()
        transforms[:, :3, 3] -= np.einsum("jab,jb->ja", world[:, :3, :3], rest_joints)
        blended = (self.weights @ transforms[:, :3].reshape(self.num_joints, 12)).reshape(-1, 3, 4)
        vertices = (blended[:, :, :3] * rest[:, None, :]).sum(-1) + blended[:, :, 3]
        return Posed(vertices=vertices, joints=joints, transforms=transforms, rest=rest)


def axis_angle_to_matrices(pose: np.ndarray) -> np.ndarray:
    """(3 J,) or (J, 3) axis-angle -> (J, 3, 3) rotation matrices."""
    aa = np.asarray(pose, np.float64).reshape(-1, 3)
    return np.stack([cv2.Rodrigues(a)[0] for a in aa])


def matrices_to_axis_angle(rotmats: np.ndarray) -> np.ndarray:
    """(J, 3, 3) rotation matrices -> (3 J,) axis-angle."""
    return np.concatenate([cv2.Rodrigues(np.asarray(r, np.float64))[0].ravel() for r in rotmats])
