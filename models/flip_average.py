"""Flip averaging at test time: the regressor's answer on a crop, averaged with its mirrored answer
on the same crop mirrored left to right, as one body.

The source model, trained from scratch on renders, reads real people noisily; the mirror image of a
person is as much a person, and the two answers' errors partly cancel (docs/REAL_POSE.md, "Flip
averaging": PCK against BlazePose up on every real clip and on held-out renders). Rotations are
averaged as unit quaternions (two rotations' geodesic midpoint), shape and camera arithmetically,
and the body model poses the one body they make, so pose, shape, vertices and joints agree.

    served = FlipAveraged(regressor)    # the regressor's forward, on the crop and its mirror image
    out = served(images)                # RegressorOutput; phi is the crop's own (the average has none)

A crop seldom shows whether its person faces the camera or away, and the two halves may answer the
two ways: a body and its turned-round twin (``models.heading``), which draw the same joints in the
image. Their rotations averaged halfway stand side-on with both shoulders in the middle, neither
body. With ``align_facing`` the mirror image's answer is first turned round wherever that brings its
root nearer the crop's own (:func:`facing_as`), and the crop's own half decides which way the body
faces. By default only for a regressor that commits to one facing (``RegressorConfig.commits_facing``:
trained with ``models.synth.train_source``'s ``twin_min`` above 0.5). The shipped source model does
not: it hedges between the two bodies in each half already (docs/REAL_POSE.md, "Two bodies in one
crop"), and on the labelled clips its PCK against BlazePose fell with the halves aligned.

Both halves run as one batch of 2B crops. Training and adaptation use the regressor itself; this
is what serving exports (models.export).
"""

from __future__ import annotations

import torch
from pytorch3d.transforms import quaternion_to_matrix
from torch import nn

from models import heading
from models.body_model import BodyModel
from models.heading import JOINT_MIRROR
from models.regressor import PoseRegressor, RegressorOutput, rotmat_to_quaternion

# x across the image: a crop's columns mirrored take every camera-axes point (x, y, z) to (-x, y, z).
MIRROR = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
TURN_ROUND = torch.as_tensor(heading.TURN_ROUND, dtype=torch.float32)  # pi about the camera's vertical (y) axis


def mirror_rotations(rotmats: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3, 3) joint rotations, root first -> the mirror image's: each joint takes its
    partner's rotation (left for right), conjugated by the mirror. SMPL's rest pose is symmetric
    across the body's x = 0 plane, so this holds for the parent-relative rotations as for the root."""
    m = MIRROR.to(rotmats)
    return m @ rotmats[:, list(JOINT_MIRROR)] @ m


def turn_round_rotations(rotmats: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3, 3) joint rotations, root first -> the body turned round (``models.heading``: mirrored
    through the image plane, depth negated and left and right swapped; under weak perspective it
    draws the same silhouette with the same joints in the image): the mirror image's rotations with
    the root turned by pi about the camera's vertical axis."""
    out = mirror_rotations(rotmats)
    return torch.cat([(TURN_ROUND.to(rotmats) @ out[:, 0]).unsqueeze(1), out[:, 1:]], 1)


def facing_as(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3, 3) rotations a, b of two answers on the same crops -> b, or b turned round where that
    brings its root nearer a's (by the trace of a's root transposed times b's, the cosine of the
    angle between them). Two answers that are each other's turned-round twins, averaged halfway, are
    neither body: one stands side-on with its shoulders and hips drawn together."""
    turned = turn_round_rotations(b)
    nearer = (a[:, 0] * turned[:, 0]).sum((-1, -2)) > (a[:, 0] * b[:, 0]).sum((-1, -2))  # tr(A^T B)
    return torch.where(nearer[:, None, None, None], turned, b)


def mirror_camera(camera: torch.Tensor) -> torch.Tensor:
    """(B, 3) weak-perspective (s, t_x, t_y) in crop coordinates [-1, 1] -> the mirror image's."""
    return camera * camera.new_tensor([1.0, -1.0, 1.0])


def rotation_midpoint(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations a, b -> (..., 3, 3) the rotation halfway between them along the shortest
    arc (slerp at 1/2: the normalised sum of their quaternions, signs matched)."""
    qa, qb = rotmat_to_quaternion(a), rotmat_to_quaternion(b)
    qb = qb * torch.where((qa * qb).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    q = qa + qb
    return quaternion_to_matrix(q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12))


def as_served(
    regressor: PoseRegressor, flip_average: bool, align_facing: bool | None = None
) -> PoseRegressor | FlipAveraged:
    """The regressor as serving answers with it: flip averaged where ``flip_average`` (with the
    halves' facing aligned where ``align_facing``; None: where the regressor commits to one facing,
    ``RegressorConfig.commits_facing``), else itself."""
    return FlipAveraged(regressor, align_facing) if flip_average else regressor


class FlipAveraged(nn.Module):
    """A :class:`PoseRegressor` answering each crop as the average of itself and its mirror image."""

    def __init__(self, regressor: PoseRegressor, align_facing: bool | None = None):
        super().__init__()
        self.regressor = regressor
        self.align_facing = regressor.config.commits_facing if align_facing is None else align_facing
        self.config = regressor.config
        # The regressor's mode, not nn.Module's default (training): code that sets a model's mode and
        # restores it afterwards (models.health) must leave the regressor as it found it.
        self.train(regressor.training)

    @property
    def body(self) -> BodyModel:
        """The regressor's body model (its faces and render proxy draw the averaged body too)."""
        return self.regressor.body

    def forward(self, images: torch.Tensor) -> RegressorOutput:
        """(B, 3, S, S) in [0, 1] -> the averaged body (the regressor's output, phi the crop's own)."""
        n = images.shape[0]
        phi, orient6d, betas, camera = self.regressor.predict_parameters(torch.cat([images, images.flip(-1)]))
        rotmats = self.regressor.rotations(phi, orient6d)
        mirrored = mirror_rotations(rotmats[n:])
        if self.align_facing:
            mirrored = facing_as(rotmats[:n], mirrored)
        rotmats = rotation_midpoint(rotmats[:n], mirrored)
        betas = (betas[:n] + betas[n:]) / 2
        camera = (camera[:n] + mirror_camera(camera[n:])) / 2
        return self.regressor.posed(phi[:n], rotmats, betas, camera)
