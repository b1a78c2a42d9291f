"""Fast offscreen renderer for the synthetic world (images and masks, no gradients).

OpenGL through ModernGL on an EGL context: Mesa's llvmpipe on a CPU-only machine, the GPU's
driver where there is one. Bodies get clothing-like colours per body part, a directional light
plus ambient; the background is composited underneath, and the person mask comes out with
every image. Differentiable rendering (M2S) stays with PyTorch3D; this only makes data.

Cameras are OpenCV-style (x right, y down, z forwards) in both of its modes:
* ``weak perspective`` (crops): ``u = s * x + t_x``, ``v = s * y + t_y`` in [-1, 1], exactly
  the regressor's camera, so crop labels are exact;
* ``perspective`` (camera sites): pinhole intrinsics ``K`` and a world-to-camera pose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.body_layout import JOINT_NAMES

if TYPE_CHECKING:
    import moderngl

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
void main() {
    gl_Position = mvp * vec4(in_pos, 1.0);
    v_normal = in_normal;
    v_color = in_color;
}
"""
_FRAGMENT_SHADER = """
#version 330
uniform vec3 light_dir;
uniform float ambient;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
void main() {
    float diffuse = abs(dot(normalize(v_normal), -light_dir));
    f_color = vec4(v_color * (ambient + (1.0 - ambient) * diffuse), 1.0);
}
"""

# Body regions for clothing, by the joint that dominates each vertex's skin weights.
_REGIONS = {
    "top": ("spine1", "spine2", "spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder"),
    "sleeves": ("left_elbow", "right_elbow"),
    "bottom": ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee"),
    "shoes": ("left_ankle", "right_ankle", "left_foot", "right_foot"),
    "skin": ("neck", "head", "left_wrist", "right_wrist", "left_hand", "right_hand"),
}


@dataclass
class Appearance:
    """Colours (RGB in [0, 1]) per region, and a per-vertex noise level for fabric texture."""

    top: tuple[float, float, float]
    sleeves: tuple[float, float, float]
    bottom: tuple[float, float, float]
    shoes: tuple[float, float, float]
    skin: tuple[float, float, float]
    hair: tuple[float, float, float] | None = None  # None: bald (skin)
    texture: float = 0.06
    # Stripes across the clothing (rest-pose height): depth 0 is plain cloth. Needs the renderer
    # to know the rest-pose vertices.
    stripe_depth: float = 0.0
    stripe_period: float = 0.1  # metres


def random_appearance(rng: np.random.Generator) -> Appearance:
    skin = np.array([0.95, 0.78, 0.65]) * rng.uniform(0.35, 1.0)
    top = rng.uniform(0.05, 0.95, 3)
    sleeves = top if rng.random() < 0.6 else skin  # long or short sleeves
    hair = np.array([0.25, 0.17, 0.10]) * rng.uniform(0.2, 2.8) if rng.random() < 0.9 else skin
    return Appearance(
        top=tuple(top),
        sleeves=tuple(sleeves),
        bottom=tuple(rng.uniform(0.05, 0.8, 3)),
        shoes=tuple(rng.uniform(0.0, 0.4, 3)),
        skin=tuple(skin),
        hair=tuple(np.clip(hair, 0, 1)),
        texture=rng.uniform(0.0, 0.12),
    )


# Skin tones in linear-ish RGB, dark to light: the source model must meet all of them.
_SKIN_TONES = np.array([[0.36, 0.22, 0.14], [0.55, 0.36, 0.24], [0.76, 0.57, 0.42], [0.95, 0.78, 0.65]])


def varied_appearance(rng: np.random.Generator) -> Appearance:
    """Wider than :func:`random_appearance`: any skin tone, striped clothes, dark and light, for source crops
    that must carry over to real people."""
    a, b = rng.integers(len(_SKIN_TONES), size=2)
    w = rng.random()
    skin = np.clip((w * _SKIN_TONES[a] + (1 - w) * _SKIN_TONES[b]) * rng.uniform(0.75, 1.15), 0, 1)
    top = rng.uniform(0.02, 0.98, 3) ** rng.uniform(0.5, 2.0)  # saturated and washed-out colours alike
    sleeves = top if rng.random() < 0.6 else skin
    hair_base = np.array([0.25, 0.17, 0.10]) * rng.uniform(0.1, 3.2)
    hair = np.clip(hair_base, 0, 1) if rng.random() < 0.85 else skin
    return Appearance(
        top=tuple(top),
        sleeves=tuple(sleeves),
        bottom=tuple(rng.uniform(0.02, 0.9, 3)),
        shoes=tuple(rng.uniform(0.0, 0.6, 3)),
        skin=tuple(skin),
        hair=tuple(hair),
        texture=rng.uniform(0.0, 0.2),
        stripe_depth=rng.uniform(0.2, 0.7) if rng.random() < 0.3 else 0.0,
        stripe_period=rng.uniform(0.03, 0.2),
    )


def vertex_regions(lbs_weights: torch.Tensor, rest_vertices: torch.Tensor | None = None) -> np.ndarray:
    """(V,) index into ``_REGIONS`` order for each vertex.

    With the rest-pose vertices (T-pose, y up, facing +z) the back and top of the head become
    hair: without it a body seen from behind looks the same as from the front, and the heading
    cannot be learnt from the image."""
    dominant = lbs_weights.argmax(1).numpy()
    region_of_joint = np.zeros(len(JOINT_NAMES), dtype=np.int64)
    for r, joints in enumerate(_REGIONS.values()):
        for j in joints:
            region_of_joint[JOINT_NAMES.index(j)] = r
    regions = region_of_joint[dominant]
    if rest_vertices is not None:
        v = rest_vertices.numpy()
        head = dominant == JOINT_NAMES.index("head")
        centre = v[head].mean(0)
        top = v[head, 1].max()
        hair = head & ((v[:, 1] > top - 0.05) | ((v[:, 2] < centre[2] - 0.01) & (v[:, 1] > centre[1] - 0.04)))
        regions[hair] = len(_REGIONS)
    return regions


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted vertex normals."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def weak_perspective_matrix(camera: np.ndarray, near: float = -10.0, far: float = 10.0) -> np.ndarray:
    """Clip-space matrix for OpenCV-frame points and a crop camera (s, t_x, t_y).

    Clip y points up while image rows go down, and depth must grow away from the camera."""
    s, tx, ty = camera
    m = np.zeros((4, 4))
    m[0, 0], m[0, 3] = s, tx
    m[1, 1], m[1, 3] = -s, -ty
    m[2, 2], m[2, 3] = 2.0 / (far - near), -(far + near) / (far - near)
    m[3, 3] = 1.0
    return m


def perspective_matrix(K: np.ndarray, width: int, height: int, near: float = 0.1, far: float = 100.0) -> np.ndarray:
    """Clip-space matrix for OpenCV-frame points under pinhole intrinsics K.

    OpenCV puts pixel centres at integers (u = fx x / z + cx), so the image spans u in
    [-0.5, W - 0.5]; NDC spans [-1, 1] with y up."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    m = np.zeros((4, 4))
    m[0, 0], m[0, 2] = 2 * fx / width, 2 * (cx + 0.5) / width - 1
    m[1, 1], m[1, 2] = -2 * fy / height, 1 - 2 * (cy + 0.5) / height
    m[2, 2], m[2, 3] = (far + near) / (far - near), -2 * far * near / (far - near)
    m[3, 2] = 1.0  # w = z
    return m


class SceneRenderer:
    """Renders posed bodies over backgrounds. One OpenGL context, reused for every image."""

    def __init__(
        self,
        faces: torch.Tensor,
        lbs_weights: torch.Tensor,
        width: int,
        height: int,
        rest_vertices: torch.Tensor | None = None,
    ):
        import moderngl

        # moderngl's stub types **settings as dict[str, Any]; they are plain keyword options.
        self.ctx = moderngl.create_standalone_context(backend="egl")  # type: ignore[arg-type]
        self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.faces = faces.numpy().astype(np.int32)
        self.regions = vertex_regions(lbs_weights, rest_vertices)
        self.rest_height = None if rest_vertices is None else rest_vertices[:, 1].numpy()
        self.size = (width, height)
        self.fbo = self.ctx.framebuffer(
            color_attachments=[self.ctx.renderbuffer((width, height), 4)],
            depth_attachment=self.ctx.depth_renderbuffer((width, height)),
        )
        self.ibo = self.ctx.buffer(self.faces.tobytes())
        n = len(self.regions)
        self.vbo = self.ctx.buffer(reserve=n * 9 * 4, dynamic=True)
        self.vao = self.ctx.vertex_array(
            self.prog, [(self.vbo, "3f 3f 3f", "in_pos", "in_normal", "in_color")], index_buffer=self.ibo
        )

    def _uniform(self, name: str) -> moderngl.Uniform:
        """The shader program's uniform ``name`` (a program's members also hold attributes, blocks)."""
        import moderngl

        member = self.prog[name]
        if not isinstance(member, moderngl.Uniform):
            raise TypeError(f"shader member {name!r} is a {type(member).__name__}, not a uniform")
        return member

    def colours(self, appearance: Appearance, rng: np.random.Generator) -> np.ndarray:
        table = np.array([getattr(appearance, r) for r in _REGIONS] + [appearance.hair or appearance.skin])
        c = table[self.regions] * (1.0 + appearance.texture * rng.standard_normal((len(self.regions), 1)))
        if appearance.stripe_depth and self.rest_height is not None:
            clothes = np.isin(self.regions, [list(_REGIONS).index(r) for r in ("top", "sleeves", "bottom")])
            dark = np.sin(2 * np.pi * self.rest_height / appearance.stripe_period) > 0
            c[clothes & dark] *= 1.0 - appearance.stripe_depth
        return np.clip(c, 0.0, 1.0)

    def render(
        self,
        vertices: np.ndarray,
        clip_matrix: np.ndarray,
        colours: np.ndarray,
        background: np.ndarray | None = None,
        light_dir=(0.3, 0.5, 1.0),
        ambient: float = 0.35,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One body (V, 3) in the camera frame -> (image (H, W, 3) uint8, mask (H, W) bool)."""
        normals = vertex_normals(vertices, self.faces)
        data = np.concatenate([vertices, normals, colours], 1).astype(np.float32)
        self.vbo.write(data.tobytes())
        self._uniform("mvp").write(clip_matrix.T.astype(np.float32).tobytes())
        light = np.asarray(light_dir, dtype=np.float32)
        self._uniform("light_dir").value = tuple(light / np.linalg.norm(light))
        self._uniform("ambient").value = float(ambient)
        self.fbo.use()
        self.ctx.enable(self.ctx.DEPTH_TEST)
        self.fbo.clear(0.0, 0.0, 0.0, 0.0)
        self.vao.render()
        w, h = self.size
        rgba = np.frombuffer(self.fbo.read(components=4), dtype=np.uint8).reshape(h, w, 4)[::-1]
        mask = rgba[..., 3] > 0
        if background is None:
            return rgba[..., :3].copy(), mask
        image = np.where(mask[..., None], rgba[..., :3], background)
        return image, mask

    def release(self) -> None:
        self.ctx.release()
