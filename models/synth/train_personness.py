"""Train the person/not-person silhouette classifier that :mod:`models.people.personness` serves.

    python -m models.synth.train_personness [--out models/assets/personness.onnx] [--cache runs/personness]

Renders the scenes of :mod:`models.synth.personness_data` (cached under ``--cache``: a rerun
trains again without rendering), adds drawn objects and degraded people, trains for ``--epochs``,
reports accuracy per source on scenes rendered from held-out seeds and exports the network to
ONNX (serving runs it without torch). The graph describes itself: its command, data counts and
held-out figures travel in its metadata (``provenance``); the torch weights go beside it in
``--cache``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.body_model import load_body_model
from models.people.personness import INPUT, OUTPUT, PATCH, SHIPPED_PERSONNESS, OnnxPersonness
from models.synth import personness_data as pd

logger = logging.getLogger(__name__)


class PersonnessNet(nn.Module):
    """(N, 1, PATCH, PATCH) silhouettes in [0, 1] -> (N,) logits that each is a person."""

    def __init__(self, width: int = 16):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(1, width), block(width, 2 * width), block(2 * width, 4 * width))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * width * (PATCH // 8) ** 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(-1)


def export_onnx(net: PersonnessNet, path: Path, provenance: dict) -> None:
    """The network as an ONNX graph (input INPUT (N, 1, PATCH, PATCH), output OUTPUT (N,) logits)
    with ``provenance`` as JSON in its metadata; written atomically."""
    import onnx

    net = net.eval()
    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(
        net,
        (torch.zeros(1, 1, PATCH, PATCH),),
        str(tmp),
        input_names=[INPUT],
        output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "n"}, OUTPUT: {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    graph = onnx.load(str(tmp))
    entry = graph.metadata_props.add()
    entry.key, entry.value = "provenance", json.dumps(provenance)
    onnx.save(graph, str(tmp))
    tmp.replace(path)


def score_patches(net: PersonnessNet, patches: np.ndarray) -> np.ndarray:
    """(N, PATCH, PATCH) -> (N,) probabilities, by the torch network (the exported graph must agree)."""
    with torch.no_grad():
        return torch.sigmoid(net.eval()(torch.from_numpy(np.ascontiguousarray(patches, np.float32))[:, None])).numpy()


def seed_range(text: str) -> list[int]:
    """'1-30' -> [1, ..., 30]; '5' -> [5]."""
    lo, _, hi = text.partition("-")
    try:
        return list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed range {text!r}: write N or N-M") from None


def harvest(cache: Path, name: str, seeds: list[int], frames: int, kinds: tuple[str, ...]) -> pd.Silhouettes:
    """The rendered silhouettes of ``seeds`` x ``kinds``, from ``cache/name.npz`` when it holds them."""
    path = cache / f"{name}.npz"
    key = json.dumps({"seeds": seeds, "frames": frames, "kinds": kinds})
    if path.exists():
        data = np.load(path, allow_pickle=True)
        if str(data["key"]) == key:
            return pd.Silhouettes(data["patches"], data["labels"], data["source"])
    body = load_body_model()
    parts = [s for _, s in pd.scenes(seeds, frames, body, kinds)]
    out = pd.Silhouettes.join(parts)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, patches=out.patches, labels=out.labels, source=out.source, key=key)
    return out


def accuracy_by_source(net: PersonnessNet, data: pd.Silhouettes) -> dict[str, dict[str, float]]:
    p = score_patches(net.eval(), data.patches)
    out = {}
    for src in sorted(set(data.source)):
        for label, what in ((1, "people"), (0, "objects")):
            k = (data.source == src) & (data.labels == label)
            if k.any():
                out[f"{src} {what}"] = {"n": int(k.sum()), "right": round(float(((p[k] >= 0.5) == label).mean()), 4)}
    return out


def train(data: pd.Silhouettes, epochs: int, seed: int, width: int) -> PersonnessNet:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = PersonnessNet(width=width)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    x = torch.from_numpy(data.patches)[:, None]
    y = torch.from_numpy(data.labels).float()
    pos = float(y.mean())
    # each class weighs the same whatever its count
    weight = torch.where(y > 0, 0.5 / max(pos, 1e-6), 0.5 / max(1 - pos, 1e-6))
    steps = epochs * int(np.ceil(len(y) / 128))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for epoch in range(epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(y)))
        total = 0.0
        for i in range(0, len(y), 128):
            k = order[i : i + 128]
            xb = x[k]
            flip = torch.from_numpy(rng.random(len(k)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = nn.functional.binary_cross_entropy_with_logits(net(xb), y[k], weight=weight[k])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(k)
        logger.info("epoch %d/%d: loss %.4f", epoch + 1, epochs, total / len(y))
    return net.eval()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=SHIPPED_PERSONNESS)
    ap.add_argument("--cache", type=Path, default=Path("runs/personness"))
    ap.add_argument("--sway-seeds", type=seed_range, default=seed_range("1-30"))
    ap.add_argument("--people-seeds", type=seed_range, default=seed_range("1-10"))
    ap.add_argument("--val-seeds", type=seed_range, default=seed_range("100-104"))
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--drawn", type=int, default=3000, help="drawn objects")
    ap.add_argument("--degraded", type=int, default=6000, help="degraded copies of rendered people")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    start = time.time()
    rng = np.random.default_rng(args.seed)
    sway = pd.with_sources(harvest(args.cache, "sway", args.sway_seeds, args.frames, ("sway",)), "rendered")
    people = pd.with_sources(
        harvest(args.cache, "people", args.people_seeds, args.frames, ("crossing", "standstill")), "rendered"
    )
    val = harvest(args.cache, "val", args.val_seeds, args.frames, pd.KINDS)
    rendered_people = np.concatenate([sway.patches[sway.labels == 1], people.patches])
    data = pd.Silhouettes.join(
        [
            sway,
            people,
            pd.drawn_objects(args.drawn, rng),
            pd.degraded_people(rendered_people, args.degraded, rng),
        ]
    )
    counts = dict(
        Counter(f"{s} {'people' if lab else 'objects'}" for s, lab in zip(data.source, data.labels, strict=True))
    )
    logger.info("training on %d silhouettes: %s", len(data), counts)
    net = train(data, args.epochs, args.seed, args.width)
    held_out = accuracy_by_source(net, val)
    logger.info("held-out scenes (seeds %s): %s", args.val_seeds, held_out)
    provenance = {
        "command": (
            "python -m models.synth.train_personness " + shlex.join(sys.argv[1:] if argv is None else argv)
        ).rstrip(),
        "width": args.width,
        "counts": counts,
        "held_out": held_out,
        "seconds": round(time.time() - start, 1),
    }
    args.cache.mkdir(parents=True, exist_ok=True)
    torch.save({"width": args.width, "state_dict": net.state_dict(), **provenance}, args.cache / "personness.pt")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(net, args.out, provenance)
    served = OnnxPersonness(args.out)(val.patches)
    gap = float(np.abs(served - score_patches(net, val.patches)).max())
    if gap > 1e-4:
        raise RuntimeError(f"the exported graph disagrees with the network by {gap:.2e}")
    logger.info("wrote %s (%.0f s; ONNX within %.1e of torch)", args.out, time.time() - start, gap)


if __name__ == "__main__":
    main()
