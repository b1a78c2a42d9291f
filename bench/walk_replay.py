"""How well a person's walk tells which way they face: walk rules replayed on real and synthetic boxes.

    SILHOUETTE_HEADING_FROM_MOTION=false python -m bench.real_pose CLIP --tag noturn --no-doc  # per clip
    python -m bench.walk_replay runs/real_pose/*-noturn.json [--synthetic lr-32,thermal]

The service turns a body round where it faces against its track's walk (models.heading,
models.people.walk.approach_of). A rule that reads a walk where there is none turns right bodies
round; one that reads too few leaves wrong ones. This replays each track's boxes, frame by frame, through
each rule and scores the bodies as the service would then serve them:

- **real clips**: ``bench.real_pose`` records made with the turn off (the model's own facings), each
  answered box's walk read from its track's answered boxes so far (boxes cut by the frame's edge
  read none, as when serving); the served facing against BlazePose's where both are clear, and
  PCK@0.1 of the served limbs (``bench.pose_scores``);
- **synthetic sites** (``--synthetic``; the tuning site, seed 999, and the benchmark's, seed 300):
  every MOG2 blob tracked (models.people.tracking); the walk of each plausible person's crop
  against the way the true body faces in the frame (models.heading.facing on the true 2D joints).

Rules: the window of boxes, the least growth a frame and the feet's share (``approach_of``'s
parameters; ``feet -`` for none), with the still-walking check as served (off); the served window,
growth and feet share with the still-walking check on at a few feet shares (``still``); beside the rule served
until 2026-12-05 (``ema``: the tracker's smoothed frame-to-frame growth, at least 0.5% a frame) and
no turning at all.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench import pose_scores as ps
from models.heading import AWAY, TOWARDS, UNKNOWN, against_walk, facing
from models.people.tracking import Track, TrackerConfig, remember
from models.people.walk import APPROACH_MIN_FEET_SHARE, APPROACH_MIN_GROWTH, APPROACH_STILL_FEET_SHARE, approach_of

History = list[tuple[int, tuple[float, float, float, float]]]  # (frame, box) of one track, oldest first
Rule = Callable[[History], int]
NO_FEET = -1e9  # a feet share no walk fails
EMA_MIN_GROWTH = 0.005  # the rule served until 2026-12-05
WINDOWS = (15, TrackerConfig().walk_window)
GROWTHS = (APPROACH_MIN_GROWTH, 0.003, 0.005)
FEET_SHARES = (None, 0.25, APPROACH_MIN_FEET_SHARE)
STICKY_FRAMES = (25, 75)  # a walk read kept this long where none is read now
STILL_SHARES = (0.1, 0.25, 0.5)  # still-walking checks tried with the served window, growth and feet share


def ema_rule(history: History, min_growth: float = EMA_MIN_GROWTH) -> int:
    """The walk as read until 2026-12-05: the box height's frame-to-frame growth, smoothed by half."""
    growth = 0.0
    for (f0, b0), (f1, b1) in itertools.pairwise(history):
        k = max(f1 - f0, 1)
        growth = 0.5 * growth + 0.5 * (((b1[3] - b1[1]) / (b0[3] - b0[1])) ** (1 / k) - 1)
    if len(history) < 2 or abs(growth) < min_growth:
        return UNKNOWN
    return TOWARDS if growth > 0 else AWAY


def window_rule(window: int, min_growth: float, feet_share: float | None, still: float = 0.0) -> Rule:
    """``approach_of`` on the track's last ``window`` boxes; ``still``: its still-walking feet share
    over the last APPROACH_STILL_FRAMES boxes (0: not checked)."""

    def rule(history: History) -> int:
        track = Track(id=0, box=history[0][1])
        for _, box in history[-window:]:
            track.box = box
            remember(track, window)
        return approach_of(track, min_growth, NO_FEET if feet_share is None else feet_share, still_feet_share=still)

    return rule


def sticky_rule(rule: Rule, frames: int) -> Rule:
    """``rule``, or where it reads no walk now, the last walk it read on the same track within
    ``frames`` frames (people seldom turn round mid-walk; a walk goes unread where the box jitters)."""

    def sticky(history: History) -> int:
        now = history[-1][0]
        for end in range(len(history), 0, -1):
            if now - history[end - 1][0] > frames:
                break
            walk = rule(history[:end])
            if walk != UNKNOWN:
                return walk
        return UNKNOWN

    return sticky


def rules() -> dict[str, Rule]:
    out: dict[str, Rule] = {"no turning": lambda history: UNKNOWN, "ema (until 2026-12-05)": ema_rule}
    served = (WINDOWS[-1], GROWTHS[0], FEET_SHARES[-1])
    for w, g, f in itertools.product(WINDOWS, GROWTHS, FEET_SHARES):
        name = f"window {w}, growth {g}, feet {'-' if f is None else f}"
        out[name + (" (served)" if (w, g, f) == served else "")] = window_rule(w, g, f, APPROACH_STILL_FEET_SHARE)
    for still in STILL_SHARES:
        out[f"window {served[0]}, growth {served[1]}, feet {served[2]}, still {still}"] = window_rule(*served, still)
    for frames in STICKY_FRAMES:
        out[f"window {served[0]}, growth {served[1]}, feet {served[2]}, kept {frames} frames"] = sticky_rule(
            window_rule(*served), frames
        )
    return out


def replay_real(record: dict, rule: Rule) -> dict:
    """One ``bench.real_pose`` record (made with the turn off) through one rule."""
    frame_shape = tuple(record["frame_size"])
    people = sorted(record["per_person"]["served"], key=lambda r: r["frame"])
    histories: dict[int, History] = {}
    served, target, visible, heights, known = [], [], [], [], 0
    for r in people:
        box = tuple(r["box"])
        history = histories.setdefault(r["track_id"], [])
        history.append((r["frame"], box))
        whole = ps.clear_of_edge(np.asarray(box), frame_shape)[0]
        walk = rule(history) if whole else UNKNOWN
        known += walk != UNKNOWN
        joints = np.asarray(r["joints_2d"])
        height = box[3] - box[1]
        limbs = ps.smpl_limbs(joints[None])
        turn = against_walk(joints[None], np.array([height]), np.array([walk]))[0]
        served.append((ps.mirrored(limbs) if turn else limbs)[0])
        bp = r["blazepose"]
        target.append(np.asarray(bp["limbs_2d"]) if bp["found"] else np.zeros((12, 2)))
        visible.append(np.asarray(bp["visibility"]) > ps.VISIBILITY_MIN if bp["found"] else np.zeros(12, bool))
        heights.append(height)
    pred, tgt, vis, hts = (np.asarray(x) for x in (served, target, visible, heights))
    agree, compared = ps.facing_agreement(pred, tgt, vis, hts)
    return {
        "boxes": len(people),
        "walk_known": known,
        "facing_agree": agree,
        "facing_compared": compared,
        "pck": ps.rate(*ps.pck(pred, tgt, vis, hts)),
    }


def synthetic_histories(shift: str, seed: int, frames: int) -> tuple[list[tuple[int, History]], object]:
    """Every plausible person's crop of a synthetic site: (frame, its track's boxes so far)."""
    from bench.bench_adaptation import load_site
    from models.body_model import load_body_model
    from models.people.foreground import OFFLINE, video_foreground
    from models.people.tracking import Tracker
    from models.target_data import plausible_person, video_blobs

    site = load_site(shift, frames, load_body_model(), None, seed=seed)
    tracker, histories, items = Tracker(TrackerConfig()), {}, []
    for t, blobs in enumerate(video_blobs(video_foreground(site.frames, OFFLINE))):
        for blob, track in zip(blobs, tracker.update([b.box for b in blobs]), strict=True):
            histories.setdefault(track.id, []).append((t, blob.box))
            if plausible_person(blob, site.frames.shape[1:3]):
                items.append((t, list(histories[track.id])))
    return items, site


def replay_synthetic(items: list[tuple[int, History]], site, rule: Rule) -> dict:
    walks = np.array([rule(h) for _, h in items], dtype=np.int64)
    frames = np.array([t for t, _ in items], dtype=np.int64)
    heights = np.array([h[-1][1][3] - h[-1][1][1] for _, h in items])
    true = facing(site.joints_2d[frames], heights)
    known = walks != UNKNOWN
    return {
        "crops": len(items),
        "walk_known": int(known.sum()),
        "faces_the_walk": int((known & (true == walks)).sum()),
        "faces_against_it": int((known & (true == -walks)).sum()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, nargs="*", help="bench.real_pose records made with the turn off")
    ap.add_argument("--synthetic", default="", help="shifts of the tuning (999) and benchmark (300) sites")
    ap.add_argument("--frames", type=int, default=160)
    args = ap.parse_args(argv)
    for path in args.records:
        record = json.loads(path.read_text())
        print(f"{path.name}: served facing agreeing with BlazePose's (boxes both see clearly), PCK@0.1")
        for name, rule in rules().items():
            r = replay_real(record, rule)
            rate = r["facing_agree"] / max(r["facing_compared"], 1)
            print(
                f"  {name:45s} facing {r['facing_agree']}/{r['facing_compared']} = {rate:.2f}, PCK {r['pck']:.3f}, "
                f"walk read on {r['walk_known']} of {r['boxes']} boxes",
                flush=True,
            )
    for shift, seed in itertools.product([s for s in args.synthetic.split(",") if s], (999, 300)):
        items, site = synthetic_histories(shift, seed, args.frames)
        print(f"{shift}, site seed {seed}: crops whose walk is read; the true body facing it / against it")
        for name, rule in rules().items():
            if name == "no turning":
                continue
            r = replay_synthetic(items, site, rule)
            print(
                f"  {name:45s} read on {r['walk_known']} of {r['crops']}: facing it {r['faces_the_walk']}, "
                f"against it {r['faces_against_it']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
