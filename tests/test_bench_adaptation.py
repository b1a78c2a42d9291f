"""The adaptation benchmark resumes only what was run on the same checkpoint, and its tables never
mix two models."""

import json

from bench.adaptation_report import load_runs
from bench.bench_adaptation import done
from bench.report import file_digest


def test_a_cell_counts_as_done_only_for_the_checkpoint_it_was_run_on(tmp_path):
    old, new = tmp_path / "old.pt", tmp_path / "new.pt"
    old.write_bytes(b"weights, first training")
    new.write_bytes(b"weights, retrained")
    assert file_digest(old) != file_digest(new) and len(file_digest(old)) == 16
    cell = tmp_path / "runs" / "lr-32" / "ours.json"
    assert not done(cell, file_digest(old))  # never run
    cell.parent.mkdir(parents=True)
    cell.write_text(json.dumps({"variant": "ours", "checkpoint_sha256": file_digest(old)}))
    assert done(cell, file_digest(old))
    assert not done(cell, file_digest(new))  # same file name, other weights: run it again
    cell.write_text(json.dumps({"variant": "ours"}))  # cells from before digests were recorded
    assert not done(cell, file_digest(old))


def test_the_report_reads_one_checkpoints_cells(tmp_path):
    for shift, digest in (("lr-32", "a" * 16), ("gray", "b" * 16)):
        (tmp_path / shift).mkdir()
        (tmp_path / shift / "ours.json").write_text(json.dumps({"checkpoint_sha256": digest}))
    assert set(load_runs(tmp_path)) == {("lr-32", "ours"), ("gray", "ours")}
    assert set(load_runs(tmp_path, "b" * 16)) == {("gray", "ours")}


def test_the_mean_shape_row_changes_only_the_shape():
    """The reference row that says how much of a gain the shape prior alone gives: the same pose,
    root and camera as the source model, the body built with beta = 0."""
    import torch

    from bench.bench_adaptation import MeanShape
    from models.regressor import load_regressor
    from runtime.settings import SHIPPED_CHECKPOINT

    regressor = load_regressor(SHIPPED_CHECKPOINT)
    images = torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain, mean = regressor(images), MeanShape(regressor)(images)
        reference = regressor.body(torch.zeros(3, 10), plain.rotmats)
    assert plain.betas.abs().sum() > 0 and not mean.betas.any()
    assert torch.allclose(mean.rotmats, plain.rotmats) and torch.allclose(mean.camera, plain.camera)
    assert torch.allclose(mean.joints, reference.joints - reference.joints[:, :1], atol=1e-5)
    assert not torch.allclose(mean.joints, plain.joints, atol=1e-3)


def test_an_unknown_variant_is_refused_before_any_work():
    import pytest

    from bench.bench_adaptation import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--variants", "ours,b9"])
    assert exit_info.value.code == 2


def test_the_curves_plot_any_number_of_shifts(tmp_path):
    """One panel per shift that has a curve, the grid's spare panels left empty (6 shifts on a 2x5 grid)."""
    from bench.adaptation_report import COLUMNS, plot_curves

    curve = [{"iteration": i, "pa_mpjpe_mm": 100.0 - i} for i in (0, 20, 40)]
    for n in (1, 5, 6, 9):
        rows = {(s, "ours"): {"curve": curve} for s in COLUMNS[:n]}
        out = tmp_path / f"curves-{n}.png"
        assert plot_curves(rows, out) and out.stat().st_size > 0


class FixedBodies:
    """A stand-in regressor that answers the same body for every crop: facing the camera (or turned
    ``yaw`` radians from it about the vertical), in the crop's middle at half its size."""

    def __init__(self, yaw: float = 0.0):
        import torch

        from models.body_model import load_body_model

        body = load_body_model()
        pose = torch.zeros(1, 24, 3)
        pose[0, 0, 0] = torch.pi  # upright in the camera, facing it
        from pytorch3d.transforms import axis_angle_to_matrix

        rotations = axis_angle_to_matrix(pose)
        rotations[0, 0] = axis_angle_to_matrix(torch.tensor([0.0, yaw, 0.0])) @ rotations[0, 0]
        with torch.no_grad():
            out = body(torch.zeros(1, 10), rotations)
        root = out.joints[:, :1]
        self.joints, self.eval_joints = out.joints - root, out.eval_joints - root
        self.param = torch.nn.Parameter(torch.zeros(1))

    def eval(self):
        return self

    def parameters(self):
        return iter([self.param])

    def __call__(self, x):
        from types import SimpleNamespace

        import torch

        n = len(x)
        return SimpleNamespace(
            joints=self.joints.expand(n, -1, -1),
            eval_joints=self.eval_joints.expand(n, -1, -1),
            camera=torch.tensor([[1.0, 0.0, 0.0]]).expand(n, -1),
        )


def test_bodies_as_served_are_turned_round_where_they_face_against_their_walk():
    """errors(): a body facing the camera on a crop whose person walks away is served turned round
    (models.heading), so against truth that is the turned-round body, MPJPE as served is zero on those
    crops and the plain MPJPE is not; a walk towards the camera or unknown leaves it as it is."""
    import numpy as np

    from bench.bench_adaptation import errors
    from models.heading import AWAY, EVAL_MIRROR, TOWARDS, UNKNOWN, turn_round_points
    from models.target_data import TargetSet

    model = FixedBodies()
    facing = model.eval_joints[0].numpy().astype(np.float64)
    truth = np.stack([turn_round_points(facing, EVAL_MIRROR), facing, facing])
    crops = TargetSet(
        images=np.zeros((3, 8, 8, 3), np.uint8),
        silhouettes=np.zeros((3, 4, 4), bool),
        frame_index=np.arange(3),
        squares=np.array([[50.0, 50.0, 120.0]] * 3),
        approach=np.array([AWAY, TOWARDS, UNKNOWN]),
    )
    got = errors(model, crops, truth, tilt_deg=0.0)
    assert got["against_walk"] == 1 / 3
    assert got["mpjpe_served_mm"] < 1e-3 < got["mpjpe_mm"] / 3
    # the model's own bodies: the one against a turned-round truth faces 180 degrees from it
    assert got["turned_share"] == 1 / 3 and got["heading_deg"] < 1e-3
    assert errors(model, crops, truth)["mpjpe_mm"] == got["mpjpe_mm"]


def test_tuning_refuses_the_benchmarks_site():
    from pathlib import Path

    import pytest

    from bench.bench_adaptation import SITE_SEED
    from bench.tune_adaptation import tune

    with pytest.raises(ValueError, match="benchmark"):
        tune(Path("models/assets/source_cpu.pt"), "clean", 10, 1, 1, [{}], seed=SITE_SEED)


def test_side_on_bodies_as_served_are_turned_to_face_their_walk():
    """errors(): a side-on body on a crop whose person walks towards the camera is served turned
    about the vertical to within 60 degrees of facing it (models.heading.FaceWalk): against truth
    that is that turned body, MPJPE as served is zero; a walk unknown leaves it side-on."""
    import numpy as np

    from bench.bench_adaptation import errors
    from models.heading import TOWARDS, UNKNOWN, yaw_points
    from models.target_data import TargetSet

    model = FixedBodies(yaw=np.pi / 2)
    side = model.eval_joints[0].numpy().astype(np.float64)
    faced = yaw_points(side, -np.radians(30))  # a quarter turn from the camera, turned back to 60 degrees
    crops = TargetSet(
        images=np.zeros((2, 8, 8, 3), np.uint8),
        silhouettes=np.zeros((2, 4, 4), bool),
        frame_index=np.arange(2),
        squares=np.array([[50.0, 50.0, 120.0]] * 2),
        approach=np.array([TOWARDS, UNKNOWN]),
    )
    got = errors(model, crops, np.stack([faced, faced]), tilt_deg=0.0)
    assert got["faced_walk"] == 0.5 and got["against_walk"] == 0.0
    per_crop_unknown = np.linalg.norm(side - faced, axis=-1).mean() * 1000
    assert abs(got["mpjpe_served_mm"] - per_crop_unknown / 2) < 1.0  # the first crop's is zero
