"""MediaPipe BlazePose on given person boxes of a video: the independent real-image pose estimator of
the real-footage pose evaluation (issue 19, ``bench/real_pose.py``).

    .venv-eval/bin/python bench/blazepose_landmarks.py VIDEO BOXES.json OUT.npz
    .venv-eval/bin/python bench/blazepose_landmarks.py --check

Runs INSIDE ``.venv-eval`` (``make eval-env``): ``mediapipe==0.10.21`` pins numpy<2, which the
project's own environment does not have, so this script imports nothing from the project. The
0.10.21 wheel ships the models it uses (``modules/pose_detection/pose_detection.tflite`` and
``modules/pose_landmark/pose_landmark_full.tflite``, ``model_complexity=1``): nothing is downloaded.

BOXES.json: ``{"boxes": [{"frame": i, "box": [x0, y0, x1, y1]}, ...]}``, boxes in frame pixels with
pixel edges (the service's convention: pixel column c, centred at c, is inside when x0 <= c < x1).
Each box is cut as a square of ``--pad`` times its long side around its centre (outside the frame
filled with the frame's mean colour), resized to ``--size`` pixels and given to BlazePose alone, in
static-image mode (its person detector, then its landmark model; no tracking from box to box).

OUT.npz, N = the number of boxes, in the order of BOXES.json:

- ``frame`` (N,) int, ``box`` (N, 4), ``square`` (N, 3) (cx, cy, side) in frame pixels;
- ``found`` (N,) bool: BlazePose found a person in the crop (else the rows below are NaN);
- ``image`` (N, 33, 2): the 33 landmarks in frame pixels (x right, y down);
- ``visibility`` (N, 33), ``presence`` (N, 33): BlazePose's own scores in [0, 1];
- ``world`` (N, 33, 3): the world landmarks, metres, origin between the hips, x right, y down,
  z away from the camera (MediaPipe's convention);
- ``ms`` (N,): BlazePose's time on the box's crop (detector and landmarks);
- ``meta``: a JSON string (mediapipe version, model, pad, size).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger("blazepose_landmarks")

NUM_LANDMARKS = 33
MODEL_COMPLEXITY = 1  # pose_landmark_full.tflite, the one the 0.10.21 wheel ships (0 and 2 are downloaded)
DEFAULT_PAD = (
    1.5  # the crop square's side over the box's long side (1.5 let BlazePose find 74 of 81 IBMtest2 boxes, 1.25 69)
)
DEFAULT_SIZE = 256  # crop pixels given to BlazePose (its landmark model's input size)
MIN_DETECTION_CONFIDENCE = 0.5  # MediaPipe's default
FILL_SAMPLE_STEP = 8  # the crop's outside fill is the mean of every 8th pixel of the frame


def read_boxes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """BOXES.json -> (frame (N,) int, box (N, 4) float)."""
    entries = json.loads(path.read_text())["boxes"]
    frames = np.array([int(e["frame"]) for e in entries], dtype=np.int64)
    boxes = np.array([[float(v) for v in e["box"]] for e in entries], dtype=np.float64).reshape(-1, 4)
    if len(frames) and frames.min() < 0:
        raise ValueError(f"{path}: negative frame index {frames.min()}")
    return frames, boxes


def square_of(box: np.ndarray, pad: float) -> tuple[float, float, float]:
    """(x0, y0, x1, y1) -> (cx, cy, side): the square around the box, ``pad`` times its long side."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return (x0 + x1) / 2, (y0 + y1) / 2, pad * max(x1 - x0, y1 - y0, 1.0)


def cut(frame: np.ndarray, square: tuple[float, float, float], size: int) -> np.ndarray:
    """(H, W, 3) RGB frame, square (cx, cy, side) -> (size, size, 3) RGB crop. Crop pixel q (centre)
    shows frame point p = (q + 0.5 - size / 2) * side / size + c, as models/crops.py cuts them."""
    cx, cy, side = square
    s = size / side
    m = np.array([[s, 0.0, size / 2 - 0.5 - cx * s], [0.0, s, size / 2 - 0.5 - cy * s]])
    fill = tuple(float(v) for v in frame[::FILL_SAMPLE_STEP, ::FILL_SAMPLE_STEP].reshape(-1, 3).mean(0))
    return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=fill)


def to_frame(normalised: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """(..., 2) MediaPipe's normalised crop coordinates (0 and 1 at the crop's outer edges) -> frame pixels."""
    cx, cy, side = square
    return (normalised - 0.5) * side + np.array([cx, cy])


def video_frames(video: Path, wanted: set[int]):
    """Yield (index, (H, W, 3) RGB frame) for the wanted frame indices, reading the video in order."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise ValueError(f"{video}: not a readable video")
    last = max(wanted) if wanted else -1
    try:
        t = 0
        while t <= last:
            ok, frame = cap.read()
            if not ok:
                break
            if t in wanted:
                yield t, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            t += 1
    finally:
        cap.release()


def new_estimator():
    """BlazePose (legacy solutions API; its models are inside the wheel), one person per image."""
    import mediapipe as mp

    return mp.solutions.pose.Pose(
        static_image_mode=True,
        model_complexity=MODEL_COMPLEXITY,
        enable_segmentation=False,
        min_detection_confidence=MIN_DETECTION_CONFIDENCE,
    )


def empty_result(n: int) -> dict[str, np.ndarray]:
    nan = np.nan
    return {
        "found": np.zeros(n, bool),
        "square": np.full((n, 3), nan),
        "image": np.full((n, NUM_LANDMARKS, 2), nan),
        "visibility": np.full((n, NUM_LANDMARKS), nan),
        "presence": np.full((n, NUM_LANDMARKS), nan),
        "world": np.full((n, NUM_LANDMARKS, 3), nan),
        "ms": np.full(n, nan),
    }


def landmarks(video: Path, frames: np.ndarray, boxes: np.ndarray, pad: float, size: int) -> dict[str, np.ndarray]:
    """BlazePose on every box -> the arrays of OUT.npz (see the module docstring)."""
    out = empty_result(len(frames))
    out["frame"], out["box"] = frames, boxes
    by_frame: dict[int, list[int]] = {}
    for i, t in enumerate(frames.tolist()):
        by_frame.setdefault(t, []).append(i)
    seen = set()
    with new_estimator() as pose:
        for t, frame in video_frames(video, set(by_frame)):
            seen.add(t)
            for i in by_frame[t]:
                sq = square_of(boxes[i], pad)
                out["square"][i] = sq
                crop = cut(frame, sq, size)
                started = time.perf_counter()
                res = pose.process(crop)
                out["ms"][i] = 1000 * (time.perf_counter() - started)
                if res.pose_landmarks is None:
                    continue
                lm = res.pose_landmarks.landmark
                out["found"][i] = True
                out["image"][i] = to_frame(np.array([[p.x, p.y] for p in lm]), sq)
                out["visibility"][i] = [p.visibility for p in lm]
                out["presence"][i] = [p.presence for p in lm]
                out["world"][i] = [[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark]
    missing = sorted(set(by_frame) - seen)
    if missing:
        raise ValueError(f"{video}: frames {missing[:5]}... of the boxes are not in the video")
    return out


def check() -> int:
    """Load BlazePose from the wheel and run it once on a blank image: proves it works offline."""
    import mediapipe as mp

    with new_estimator() as pose:
        res = pose.process(np.zeros((DEFAULT_SIZE, DEFAULT_SIZE, 3), np.uint8))
    print(f"mediapipe {mp.__version__}, numpy {np.__version__}, OpenCV {cv2.__version__}: BlazePose loaded and ran")
    return 0 if res.pose_landmarks is None else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", type=Path, nargs="?")
    ap.add_argument("boxes", type=Path, nargs="?", help='JSON: {"boxes": [{"frame": i, "box": [x0, y0, x1, y1]}]}')
    ap.add_argument("out", type=Path, nargs="?", help="the .npz to write")
    ap.add_argument("--pad", type=float, default=DEFAULT_PAD, help="crop side over the box's long side")
    ap.add_argument("--size", type=int, default=DEFAULT_SIZE, help="crop pixels given to BlazePose")
    ap.add_argument("--check", action="store_true", help="only check that BlazePose loads and runs offline")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.check:
        return check()
    if args.video is None or args.boxes is None or args.out is None:
        ap.error("VIDEO, BOXES and OUT are required (or --check)")
    if args.pad < 1 or args.size < 32:
        ap.error(f"--pad {args.pad} must be >= 1 and --size {args.size} >= 32")
    import mediapipe as mp

    frames, boxes = read_boxes(args.boxes)
    out = landmarks(args.video, frames, boxes, args.pad, args.size)
    meta = {"mediapipe": mp.__version__, "model": "pose_landmark_full", "pad": args.pad, "size": args.size}
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **out)
    log.info("BlazePose found a person in %d of %d boxes -> %s", int(out["found"].sum()), len(frames), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
