"""Source training: it learns on a tiny pool, and a stopped run resumes to the same weights."""

import numpy as np
import pytest
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


def _answer(joints, rotmats, betas, camera):
    """A stand-in for the regressor's output: what the losses read of it."""
    return type("Out", (), {"joints": joints, "rotmats": rotmats, "betas": betas, "camera": camera})()


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
    out = _answer(batch["joints"], rot, batch["betas"], torch.tensor([[1.0, 0.0, 0.0]] * 2))
    assert "articulation" not in losses(out, batch, TrainConfig(w_articulation=0.0), body)
    terms = losses(out, batch, TrainConfig(w_articulation=20.0), body)
    assert terms["articulation"].item() < 1e-10
    bent = rot.clone()
    bent[:, 18] = torch.linalg.matrix_exp(
        torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    )  # an elbow
    out.rotmats = bent
    assert losses(out, batch, TrainConfig(w_articulation=20.0), body)["articulation"].item() > 1e-4


def _posed_batch(body, seed: int, n: int = 3) -> dict[str, torch.Tensor]:
    from pytorch3d.transforms import random_rotations

    torch.manual_seed(seed)
    a = torch.randn(n, 23, 3, 3)
    rot = torch.cat([random_rotations(n).unsqueeze(1), torch.linalg.matrix_exp(0.3 * (a - a.mT))], 1)
    betas = torch.randn(n, 10)
    with torch.no_grad():
        posed = body(betas, rot).joints
    joints = posed - posed[:, :1]
    camera = torch.tensor([[0.9, 0.05, -0.1]]).expand(n, 3)
    return {
        "joints": joints,
        "joints_2d": camera[:, None, :1] * joints[..., :2] + camera[:, None, 1:],
        "rotmats": rot,
        "betas": betas,
        "camera": camera,
    }


def test_turned_round_labels_are_the_turned_round_bodys_own():
    """The twin's labels against the body model posed by the twin's rotations (brute force): the same
    joints in the image, names swapped, depth negated (within the open body's asymmetry, 1 cm)."""
    from models.body_model import load_body_model
    from models.flip_average import turn_round_rotations
    from models.synth.train_source import turned_round_labels

    body = load_body_model()
    batch = _posed_batch(body, 2)
    twin = turned_round_labels(batch)
    torch.testing.assert_close(twin["rotmats"], turn_round_rotations(batch["rotmats"]))
    with torch.no_grad():
        posed = body(batch["betas"], twin["rotmats"]).joints
    torch.testing.assert_close(twin["joints"], posed - posed[:, :1], atol=0.01, rtol=0)
    cam = batch["camera"]
    torch.testing.assert_close(twin["joints_2d"], cam[:, None, :1] * twin["joints"][..., :2] + cam[:, None, 1:])
    assert torch.equal(twin["betas"], batch["betas"])
    assert not torch.allclose(twin["joints"], batch["joints"], atol=0.05)  # a different body in 3D


def test_the_twin_loss_scores_each_crop_against_the_nearer_body():
    from models.body_model import load_body_model
    from models.synth.train_source import losses, turned_round_labels

    body = load_body_model()
    batch = _posed_batch(body, 5)
    twin = turned_round_labels(batch)
    # crop 0 answered as labelled, crops 1 and 2 as their twins
    pick = lambda k: torch.cat([batch[k][:1], twin[k][1:]])  # noqa: E731
    out = _answer(pick("joints"), pick("rotmats"), batch["betas"], batch["camera"])
    plain = losses(out, batch, TrainConfig(), body)
    assert "twin_share" not in plain and plain["total"].item() > 0.1
    either = losses(out, batch, TrainConfig(twin_min=1.0), body)
    assert either["twin_share"].item() == pytest.approx(2 / 3)
    assert either["total"].item() < 0.01 * plain["total"].item()  # the twins' own 1-cm asymmetry
    half = losses(out, batch, TrainConfig(twin_min=0.5), body)
    assert half["total"].item() == pytest.approx(0.5 * plain["total"].item() + 0.5 * either["total"].item(), rel=1e-5)
    # the gradient pulls each crop towards the body it is scored against: none on the exact crop 0
    grads = {}
    for share in (0.0, 1.0):
        out.joints = out.joints.detach().requires_grad_(True)
        losses(out, batch, TrainConfig(twin_min=share, w_articulation=0.0), body)["total"].backward()
        grads[share] = out.joints.grad.abs().amax((1, 2))
    assert grads[1.0][0].item() < 1e-9 and grads[0.0][0].item() < 1e-9
    assert (grads[1.0][1:] < 0.1 * grads[0.0][1:]).all()  # the twins are (all but) where they should be
    with pytest.raises(ValueError, match=r"twin_min.*1\.5"):
        TrainConfig(twin_min=1.5)


def test_the_twin_loss_leaves_crops_holding_little_detail_to_their_labelled_body():
    from models.body_model import load_body_model
    from models.synth.train_source import crop_losses, losses, turned_round_labels

    body = load_body_model()
    batch = _posed_batch(body, 6, n=4)
    twin = turned_round_labels(batch)
    # every crop answered as its twin; crops 0 and 1 hold 100 px of detail, 2 just 80, 3 only 40
    out = _answer(twin["joints"], twin["rotmats"], batch["betas"], batch["camera"])
    batch["detail"] = torch.tensor([100.0, 100.0, 80.0, 40.0])
    cfg = TrainConfig(twin_min=0.9, twin_detail_px=80.0)
    plain = crop_losses(out, batch, cfg, body)["total"]
    either = crop_losses(out, twin, cfg, body)["total"]
    gated = losses(out, batch, cfg, body)
    assert gated["twin_share"].item() == pytest.approx(3 / 4)
    blended = 0.1 * plain[:3] + 0.9 * torch.minimum(plain[:3], either[:3])
    expected = torch.cat([blended, plain[3:]]).mean()  # brute force, crop by crop
    assert gated["total"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert plain[3].item() > 100 * either[3].item()  # crop 3 really is scored against the other body
    # below the threshold a share of the loss against the twin: a hedge that costs the same either way
    hedged = losses(out, batch, TrainConfig(twin_min=0.9, twin_detail_px=80.0, twin_below=0.5), body)
    expected = torch.cat([blended, 0.5 * plain[3:] + 0.5 * either[3:]]).mean()
    assert hedged["total"].item() == pytest.approx(expected.item(), rel=1e-5)
    # no threshold: every crop against the nearer body, as before
    assert losses(out, batch, TrainConfig(twin_min=0.9), body)["twin_share"].item() == 1.0
    with pytest.raises(ValueError, match="detail"):
        losses(out, {k: v for k, v in batch.items() if k != "detail"}, cfg, body)
    with pytest.raises(ValueError, match=r"twin_detail_px.*-5"):
        TrainConfig(twin_detail_px=-5.0)
    with pytest.raises(ValueError, match=r"twin_below.*0\.7"):
        TrainConfig(twin_min=0.9, twin_detail_px=80.0, twin_below=0.7)
    with pytest.raises(ValueError, match=r"twin_below 0\.3 needs"):
        TrainConfig(twin_min=0.9, twin_below=0.3)


def test_a_pool_s_detail_is_each_crop_s_own():
    from models.detail import crop_detail_px
    from models.synth.train_source import pool_tensors, to_batch

    rng = np.random.default_rng(0)
    n = 3
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    masks = np.zeros((n, 32, 32), bool)
    for i, rows in enumerate((30, 20, 10)):
        masks[i, :rows, 10:20] = True
    data = {
        "images": images,
        "masks": masks,
        "pose": np.zeros((n, 72), np.float32),
        "camera": np.ones((n, 3), np.float32),
        "joints": np.zeros((n, 24, 3), np.float32),
        "eval_joints": np.zeros((n, 14, 3), np.float32),
        "joints_2d": np.zeros((n, 24, 2), np.float32),
        "betas": np.zeros((n, 10), np.float32),
    }
    assert "detail" not in pool_tensors(data)
    pool = pool_tensors(data, detail=True)
    assert pool["detail"].tolist() == [crop_detail_px(images[i], masks[i]) for i in range(n)]
    assert to_batch(pool, np.array([2, 0]), None)["detail"].tolist() == [
        pool["detail"][2].item(),
        pool["detail"][0].item(),
    ]


def test_a_checkpoint_trained_with_the_twin_loss_says_so_and_is_served_aligned(tmp_path):
    from models.flip_average import as_served
    from models.regressor import load_regressor

    for share, commits in ((0.9, True), (0.5, False), (0.0, False)):
        out = tmp_path / f"t{share}.pt"
        # with the twin loss only where crops hold detail (a pool's crops read theirs as it loads)
        train_source(TrainConfig(steps=1, twin_min=share, twin_detail_px=share * 50, **TINY), out, progress=False)
        assert torch.load(out, weights_only=False)["train_config"]["twin_detail_px"] == share * 50
        regressor = load_regressor(out)
        assert regressor.config.commits_facing is commits
        assert as_served(regressor, True).align_facing is commits
        assert as_served(regressor, True, align_facing=not commits).align_facing is not commits


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


def test_a_batch_is_the_served_conversion_of_its_crops():
    import numpy as np

    from models.preprocess import crops_to_input
    from models.synth.train_source import pool_tensors, to_batch

    rng = np.random.default_rng(0)
    n = 6
    data = {
        "images": rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8),
        "pose": rng.normal(0, 0.3, (n, 72)).astype(np.float32),
        **{
            k: rng.normal(size=(n, *shape)).astype(np.float32)
            for k, shape in (
                ("camera", (3,)),
                ("joints", (24, 3)),
                ("eval_joints", (14, 3)),
                ("joints_2d", (24, 2)),
                ("betas", (10,)),
            )
        },
    }
    idx = np.array([4, 1, 1])
    batch = to_batch(pool_tensors(data), idx, None)
    assert torch.equal(batch["images"], torch.from_numpy(crops_to_input(data["images"][idx])))
    assert torch.equal(batch["betas"], torch.from_numpy(data["betas"][idx]))
    jittered = to_batch(pool_tensors(data), idx, np.random.default_rng(1))["images"]
    assert jittered.shape == batch["images"].shape and not torch.equal(jittered, batch["images"])
    assert jittered.min() >= 0 and jittered.max() <= 1


def test_the_schedule_warms_up_then_anneals_to_zero_over_the_budget():
    from models.synth.train_source import learning_rate

    cfg = TrainConfig(lr=1e-3, warmup=10)
    assert learning_rate(cfg, 0.0, 0) == pytest.approx(1e-4)
    assert learning_rate(cfg, 0.0, 50) == pytest.approx(1e-3)
    assert learning_rate(cfg, 0.5, 50) == pytest.approx(5e-4)
    assert learning_rate(cfg, 1.0, 50) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate(cfg, 1.5, 50) == pytest.approx(0.0, abs=1e-12)  # past the budget: no negative rate


def test_a_time_budget_ends_the_run_and_is_kept_for_resuming(tmp_path):
    cfg = TrainConfig(steps=100_000, minutes=0.05, **TINY)
    train_source(cfg, tmp_path / "m.pt", progress=False)
    state = torch.load(tmp_path / "m.pt", weights_only=False)
    assert 0 < state["step"] < 100_000 and state["elapsed_s"] >= 3.0
    assert state["history"][-1]["step"] == state["step"]  # the last step is evaluated
    train_source(cfg, tmp_path / "m.pt", progress=False)  # resumed with its budget spent: nothing more
    assert torch.load(tmp_path / "m.pt", weights_only=False)["step"] == state["step"]


def test_a_pool_rendered_by_several_processes_is_cached_under_its_own_name(tmp_path):
    import numpy as np

    from models.synth.train_source import crop_pool

    out = tmp_path / "s.pt"
    pool = crop_pool(out, 32, 2, 5, "v2", workers=2)
    assert len(pool["images"]) == 5 and pool["images"].shape[1:] == (32, 32, 3)
    assert [p.name for p in tmp_path.glob("*.npz")] == ["s-pool-32px-seed2-5-x2.npz"]
    again = crop_pool(out, 32, 2, 5, "v2", workers=2)
    assert all(np.array_equal(pool[k], again[k]) for k in pool)
    with pytest.raises(ValueError, match="workers"):
        crop_pool(out, 32, 2, 5, "v2", workers=0)


def test_the_command_passes_the_loss_weights_it_is_given(monkeypatch, tmp_path):
    import models.synth.train_source as ts

    seen = {}
    monkeypatch.setattr(ts, "train_source", lambda cfg, out: seen.update(cfg=cfg, out=out))
    given = ["--w-betas", "0.5", "--w-joints2d", "3", "--w-articulation", "7", "--twin-min", "0.9"]
    ts.main(["--out", str(tmp_path / "x.pt"), *given, "--twin-detail-px", "80", "--twin-below", "0.3"])
    cfg = seen["cfg"]
    assert (cfg.w_betas, cfg.w_joints2d, cfg.w_articulation, cfg.twin_min) == (0.5, 3.0, 7.0, 0.9)
    assert (cfg.twin_detail_px, cfg.twin_below) == (80.0, 0.3)
    assert seen["out"] == tmp_path / "x.pt"
    ts.main(["--out", str(tmp_path / "x.pt")])
    assert (seen["cfg"].w_betas, seen["cfg"].twin_min) == (TrainConfig().w_betas, TrainConfig().twin_min)
