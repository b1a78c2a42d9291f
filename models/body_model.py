"""The one way to get a body model: the shipped open model, or a user's licensed SMPL file.

Either way the result is a :class:`BodyModel` with SMPL's API and joint order::

    body = load_body_model()                      # open model built from Anny (CC0 / Apache-2.0)
    body = load_body_model("/data/smpl/SMPL_NEUTRAL.pkl")   # licensed SMPL, chumpy not needed
    out = body(betas, pose)                       # pose: (B, 72) axis-angle, root first
    out.vertices, out.joints, out.eval_joints     # (B, V, 3), (B, 24, 3), (B, 14, 3)

Skinning is smplx's (``smplx.SMPL`` built from the file's arrays); this module adds the
evaluation joints, the render proxy and the loading paths.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import smplx
import torch
from smplx.utils import Struct
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS
from torch import nn

from models.body_layout import EVAL_FROM_JOINTS, EXTRA_JOINT_NAMES, HEAD_TOP, NUM_JOINTS
from models.render_proxy import RenderProxy, apply_map, make_render_proxy
from models.smpl_file import OPEN_BODY_MODEL, read_body_model_file


@dataclass
class BodyModelOutput:
    """vertices (B, V, 3); joints (B, 24, 3) SMPL order; eval_joints (B, 14, 3) LSP order;
    extra_joints (B, 21, 3) smplx's vertex joints (nose, eyes, ears, toes, heels, fingertips)."""

    vertices: torch.Tensor
    joints: torch.Tensor
    eval_joints: torch.Tensor
    extra_joints: torch.Tensor


class BodyModel(nn.Module):
    """SMPL-layout body: (betas, pose, transl) -> vertices and joints, through smplx."""

    # buffers (registered in __init__, not saved in the state dict)
    faces: torch.Tensor  # (F, 3) long, the full mesh
    proxy_faces: torch.Tensor  # (Fp, 3) long, the render proxy
    proxy_vertex_ids: torch.Tensor  # (P, 3) long, into the full mesh
    proxy_vertex_weights: torch.Tensor  # (P, 3) float32
    eval_joint_ids: torch.Tensor  # (E,) long, the evaluation joints taken from the skeleton

    def __init__(
        self,
        data: dict[str, Any],
        vertex_ids: dict[str, int],
        proxy: RenderProxy,
        num_betas: int = 10,
        name: str = "body",
    ):
        super().__init__()
        self.name = name
        # smplx prints a warning for files with fewer than 300 shape components; ours has 16.
        with contextlib.redirect_stdout(io.StringIO()):
            self.smpl = smplx.SMPL(
                model_path=name,
                data_struct=Struct(**data),
                num_betas=num_betas,
                vertex_ids=vertex_ids,
                create_betas=False,
                create_global_orient=False,
                create_body_pose=False,
                create_transl=False,
            )
        self.num_betas = self.smpl.num_betas
        self.register_buffer("faces", torch.as_tensor(np.asarray(data["f"], dtype=np.int64)), persistent=False)
        self.register_buffer("proxy_faces", torch.as_tensor(proxy.faces, dtype=torch.long), persistent=False)
        self.register_buffer("proxy_vertex_ids", torch.as_tensor(proxy.vertex_ids, dtype=torch.long), persistent=False)
        self.register_buffer(
            "proxy_vertex_weights", torch.as_tensor(proxy.vertex_weights, dtype=torch.float32), persistent=False
        )
        self.register_buffer("eval_joint_ids", torch.as_tensor(EVAL_FROM_JOINTS, dtype=torch.long), persistent=False)
        self.head_top = int(vertex_ids[HEAD_TOP])

    @property
    def num_vertices(self) -> int:
        return int(self.smpl.v_template.shape[0])

    @property
    def v_template(self) -> torch.Tensor:
        return self.smpl.v_template

    @property
    def J_regressor(self) -> torch.Tensor:  # noqa: N802 - SMPL's own name for it, as smplx spells it
        return self.smpl.J_regressor

    def forward(self, betas: torch.Tensor, pose: torch.Tensor, transl: torch.Tensor | None = None) -> BodyModelOutput:
        """
        Args:
            betas: (B, num_betas) shape coefficients.
            pose: (B, 72) axis-angle, root first, or (B, 24, 3, 3) rotation matrices.
            transl: (B, 3) or None.
        """
        pose2rot = pose.dim() == 2
        if pose2rot:
            global_orient, body_pose = pose[:, :3], pose[:, 3:]
        else:
            global_orient, body_pose = pose[:, :1], pose[:, 1:]
        out = self.smpl(
            betas=betas,
            global_orient=global_orient,
            body_pose=body_pose,
            transl=transl,
            pose2rot=pose2rot,
            return_verts=True,
        )
        joints = out.joints[:, :NUM_JOINTS]
        eval_joints = torch.cat([joints[:, self.eval_joint_ids], out.vertices[:, self.head_top, None]], dim=1)
        return BodyModelOutput(
            vertices=out.vertices, joints=joints, eval_joints=eval_joints, extra_joints=out.joints[:, NUM_JOINTS:]
        )

    def proxy_vertices(self, vertices: torch.Tensor) -> torch.Tensor:
        """(B, V, 3) full-mesh vertices -> (B, P, 3) render-proxy vertices."""
        return apply_map(self.proxy_vertex_ids, self.proxy_vertex_weights.to(vertices.dtype), vertices)


def open_vertex_ids() -> dict[str, int]:
    """smplx ``vertex_ids`` for the open mesh (nose, eyes, ears, toes, heels, fingertips, head top)."""
    return vertex_ids_of(read_body_model_file(OPEN_BODY_MODEL))


def vertex_ids_of(data: dict[str, Any]) -> dict[str, int]:
    if "extra_joint_names" in data:
        names = [str(n) for n in data["extra_joint_names"]]
        return dict(zip(names, (int(i) for i in data["extra_joint_vertex_ids"]), strict=True))
    # A licensed SMPL file: smplx's own SMPL-H ids are right for its mesh; the head top is its
    # highest rest vertex.
    ids = {k: int(SMPLX_VERTEX_IDS["smplh"][k]) for k in EXTRA_JOINT_NAMES}
    ids[HEAD_TOP] = int(np.argmax(np.asarray(data["v_template"])[:, 1]))
    return ids


def _proxy(data: dict[str, Any]) -> RenderProxy:
    if "proxy_faces" in data:
        return RenderProxy(
            faces=np.asarray(data["proxy_faces"], dtype=np.int64),
            vertex_ids=np.asarray(data["proxy_vertex_ids"], dtype=np.int64),
            vertex_weights=np.asarray(data["proxy_vertex_weights"], dtype=np.float32),
        )
    return make_render_proxy(np.asarray(data["v_template"], dtype=np.float64), np.asarray(data["f"], dtype=np.int64))


def load_body_model(path: str | Path | None = None, num_betas: int = 10) -> BodyModel:
    """The shipped open body model (``path=None``) or a licensed SMPL file (``.pkl``/``.npz``/folder)."""
    source = Path(path) if path else OPEN_BODY_MODEL
    data = read_body_model_file(source)
    name = "open-anny" if path is None else source.stem
    return BodyModel(data, vertex_ids_of(data), _proxy(data), num_betas=num_betas, name=name)
