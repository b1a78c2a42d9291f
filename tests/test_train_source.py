"""Source training: it learns on a tiny pool, and a stopped run resumes to the same weights."""

import torch

from models.synth.train_source import TrainConfig, train_source

TINY = {"pool": 64, "held_out": 16, "batch": 8, "checkpoint_every": 1000, "eval_every": 1000, "prior": "absent.pt"}


def test_training_lowers_the_error_and_resumes_exactly(tmp_path):
    cfg = TrainConfig(steps=12, **TINY)
    straight = train_source(cfg, tmp_path / "a.pt", progress=False)
    history = torch.load(tmp_path / "a.pt", weights_only=False)["history"]
    assert history[-1]["step"] == 12 and history[-1]["mpjpe_mm"] > 0

    stopped = tmp_path / "b.pt"
    train_source(cfg, stopped, progress=False, should_stop=lambda step: step == 5)
    assert torch.load(stopped, weights_only=False)["step"] == 5
    resumed = train_source(cfg, stopped, progress=False)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-6), k


def test_a_few_hundred_steps_beat_the_untrained_regressor(tmp_path):
    cfg = TrainConfig(steps=150, lr=1e-3, **{**TINY, "pool": 256, "eval_every": 150, "held_out": 32})
    train_source(
        TrainConfig(steps=1, **{**TINY, "pool": 256, "eval_every": 1, "held_out": 32}),
        tmp_path / "u.pt",
        progress=False,
    )
    before = torch.load(tmp_path / "u.pt", weights_only=False)["history"][-1]["mpjpe_mm"]
    train_source(cfg, tmp_path / "t.pt", progress=False)
    after = torch.load(tmp_path / "t.pt", weights_only=False)["history"][-1]["mpjpe_mm"]
    assert after < 0.8 * before, (before, after)


def test_body_frame_joints_are_the_posed_joints_turned_back_by_the_root():
    from pytorch3d.transforms import random_rotations

    from models.body_model import load_body_model
    from models.synth.train_source import body_frame_joints

    body = load_body_model()
    torch.manual_seed(0)
    a = torch.randn(3, 23, 3, 3)
    rotmats = torch.cat([random_rotations(3).unsqueeze(1), torch.linalg.matrix_exp(0.3 * (a - a.mT))], 1)
    betas = torch.randn(3, 10)
    posed = body(betas, rotmats).joints
    reference = (posed - posed[:, :1]) @ rotmats[:, 0]  # row vectors: R^T p for each joint
    torch.testing.assert_close(body_frame_joints(body, betas, rotmats), reference, atol=1e-5, rtol=1e-4)


def test_articulation_term_is_zero_at_the_truth_and_counts_when_weighted():
    from models.body_model import load_body_model
    from models.synth.train_source import losses

    body = load_body_model()
    torch.manual_seed(1)
    rot = torch.linalg.matrix_exp(0.2 * (lambda a: a - a.mT)(torch.randn(2, 24, 3, 3)))
    truth = body(torch.zeros(2, 10), rot)
    batch = {
        "joints": truth.joints - truth.joints[:, :1],
        "joints_2d": torch.zeros(2, 24, 2),
        "rotmats": rot,
        "betas": torch.zeros(2, 10),
    }
    out = type(
        "Out",
        (),
        {
            "joints": batch["joints"],
            "rotmats": rot,
            "betas": batch["betas"],
            "camera": torch.tensor([[1.0, 0.0, 0.0]] * 2),
        },
    )()
    assert "articulation" not in losses(out, batch, TrainConfig(w_articulation=0.0), body)
    terms = losses(out, batch, TrainConfig(w_articulation=20.0), body)
    assert terms["articulation"].item() < 1e-10
    bent = rot.clone()
    bent[:, 18] = torch.linalg.matrix_exp(
        torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    )  # an elbow
    out.rotmats = bent
    assert losses(out, batch, TrainConfig(w_articulation=20.0), body)["articulation"].item() > 1e-4


def test_fine_tuning_starts_from_the_given_weights_at_step_zero(tmp_path):
    base = train_source(TrainConfig(steps=3, **TINY), tmp_path / "base.pt", progress=False)
    tuned = train_source(
        TrainConfig(steps=0, init=str(tmp_path / "base.pt"), **TINY), tmp_path / "tuned.pt", progress=False
    )
    state = torch.load(tmp_path / "tuned.pt", weights_only=False)
    assert state["step"] == 0 and state["history"] == []
    for (k, a), b in zip(base.state_dict().items(), tuned.state_dict().values(), strict=True):
        if a.is_floating_point():
            assert torch.equal(a, b), k


def test_a_mixed_pool_is_equal_parts_of_each_styles_own_cached_pool(tmp_path):
    import numpy as np

    from models.synth.train_source import crop_pool

    out = tmp_path / "s.pt"
    alone = crop_pool(out, 64, 3, 4, "v2")
    mixed = crop_pool(out, 64, 3, 8, "v2+v2")
    assert set(mixed) == set(alone) and len(mixed["images"]) == 8
    for key in alone:
        assert np.array_equal(mixed[key], np.concatenate([alone[key], alone[key]]))
    assert [p.name for p in tmp_path.glob("*.npz")] == ["s-pool-64px-seed3-4.npz"]  # one cache, reused
