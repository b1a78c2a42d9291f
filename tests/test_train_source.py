"""Source training: it learns on a tiny pool, and a stopped run resumes to the same weights."""
import torch

from models.train_source import TrainConfig, train_source

TINY = dict(pool=64, held_out=16, batch=8, checkpoint_every=1000, eval_every=1000, prior="absent.pt")


def test_training_lowers_the_error_and_resumes_exactly(tmp_path):
    cfg = TrainConfig(steps=12, **TINY)
    straight = train_source(cfg, tmp_path / "a.pt", progress=False)
    history = torch.load(tmp_path / "a.pt", weights_only=False)["history"]
    assert history[-1]["step"] == 12 and history[-1]["mpjpe_mm"] > 0

    stopped = tmp_path / "b.pt"
    train_source(cfg, stopped, progress=False, should_stop=lambda step: step == 5)
    assert torch.load(stopped, weights_only=False)["step"] == 5
    resumed = train_source(cfg, stopped, progress=False)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-6), k


def test_a_few_hundred_steps_beat_the_untrained_regressor(tmp_path):
    cfg = TrainConfig(steps=150, lr=1e-3, **{**TINY, "pool": 256, "eval_every": 150, "held_out": 32})
    train_source(TrainConfig(steps=1, **{**TINY, "pool": 256, "eval_every": 1, "held_out": 32}), tmp_path / "u.pt",
                 progress=False)
    before = torch.load(tmp_path / "u.pt", weights_only=False)["history"][-1]["mpjpe_mm"]
    train_source(cfg, tmp_path / "t.pt", progress=False)
    after = torch.load(tmp_path / "t.pt", weights_only=False)["history"][-1]["mpjpe_mm"]
    assert after < 0.8 * before, (before, after)
