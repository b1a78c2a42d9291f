"""OpenCV's HOG people detector (Dalal and Triggs' linear SVM, as OpenCV ships it) on given person
boxes of a video: one of the judges ``bench/person_judges.py`` compares with the finder's silhouette
classifier (issue 18).

    .venv-eval/bin/python bench/hog_people.py VIDEO BOXES.json OUT.npz

Runs INSIDE ``.venv-eval`` (``make eval-env``), beside ``bench/blazepose_landmarks.py``, whose box
reading and crop cutting it shares: OpenCV 5, the project's own, moved ``HOGDescriptor`` out of its
main module (``cv2.HOGDescriptor`` is missing from ``opencv-python-headless`` 5.1), while the
evaluation environment's OpenCV 4.10 still has it and its default people detector.

Each box is cut as a square of ``--pad`` times its long side, scaled so that the box's height becomes
``PERSON_PX`` (the height of a person in the detector's 64x128 window), and searched at several
scales. A detection counts for the box when its centre lies inside the box.

OUT.npz, N = the number of boxes, in the order of BOXES.json:

- ``frame`` (N,) int, ``box`` (N, 4);
- ``score`` (N,): the highest SVM score of a detection counted for the box (NaN where none);
- ``found`` (N,) bool: at least one detection counted (OpenCV's default threshold, score > 0);
- ``ms`` (N,): the detector's time on the box's crop;
- ``meta``: a JSON string (OpenCV version, pad, scale, window stride).
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

if __package__:  # imported as bench.hog_people (the project's tests)
    from bench.blazepose_landmarks import DEFAULT_PAD, cut, read_boxes, square_of, video_frames
else:  # run as a script in .venv-eval, beside blazepose_landmarks.py
    from blazepose_landmarks import DEFAULT_PAD, cut, read_boxes, square_of, video_frames

log = logging.getLogger("hog_people")

PERSON_PX = 96  # a person's height in the 64x128 detection window the SVM was trained on
MIN_CROP_PX, MAX_CROP_PX = 160, 640  # the crop square's side after scaling: room to search, bounded cost
SCALE_STEP = 1.05  # OpenCV's default pyramid step
WIN_STRIDE = (8, 8)
PADDING = (16, 16)


def detector() -> cv2.HOGDescriptor:
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return hog


def centres_in_frame(rects: np.ndarray, square: tuple[float, float, float], size: int) -> np.ndarray:
    """(K, 4) detections (x, y, w, h) in the pixels of a ``size`` crop cut at ``square`` (cx, cy,
    side) -> (K, 2) their centres in frame pixels. A rect from x spans the pixel edges x - 0.5 to
    x + w - 0.5, and crop pixel q shows frame point (q + 0.5 - size / 2) * side / size + c."""
    cx, cy, side = square
    rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    centre = rects[:, :2] + rects[:, 2:] / 2 - 0.5  # in crop pixel coordinates
    return (centre + 0.5 - size / 2) * side / size + np.array([cx, cy])


def judge(hog: cv2.HOGDescriptor, frame: np.ndarray, box: np.ndarray, pad: float) -> tuple[float, float]:
    """(H, W, 3) RGB frame, box (x0, y0, x1, y1) -> (best score of a detection centred in the box or
    NaN, milliseconds)."""
    square = square_of(box, pad)
    height = max(float(box[3] - box[1]), 1.0)
    size = int(np.clip(round(square[2] * PERSON_PX / height), MIN_CROP_PX, MAX_CROP_PX))
    crop = cut(frame, square, size)
    t = time.perf_counter()
    found, weights = hog.detectMultiScale(
        cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), winStride=WIN_STRIDE, padding=PADDING, scale=SCALE_STEP
    )
    ms = 1000 * (time.perf_counter() - t)
    centres = centres_in_frame(np.asarray(found), square, size)
    scores = np.asarray(weights, dtype=np.float64).reshape(-1)
    inside = (
        (centres[:, 0] >= box[0]) & (centres[:, 0] <= box[2]) & (centres[:, 1] >= box[1]) & (centres[:, 1] <= box[3])
    )
    return (float(scores[inside].max()) if inside.any() else np.nan), ms


def run(video: Path, frames: np.ndarray, boxes: np.ndarray, pad: float) -> dict[str, np.ndarray]:
    score, ms = np.full(len(frames), np.nan), np.zeros(len(frames))
    by_frame: dict[int, list[int]] = {}
    for i, t in enumerate(frames.tolist()):
        by_frame.setdefault(t, []).append(i)
    hog = detector()
    for t, frame in video_frames(video, set(by_frame)):
        for i in by_frame[t]:
            score[i], ms[i] = judge(hog, frame, boxes[i], pad)
    return {"frame": frames, "box": boxes, "score": score, "found": ~np.isnan(score), "ms": ms}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("boxes", type=Path, help='JSON: {"boxes": [{"frame": i, "box": [x0, y0, x1, y1]}]}')
    ap.add_argument("out", type=Path, help="the .npz to write")
    ap.add_argument("--pad", type=float, default=DEFAULT_PAD, help="crop side over the box's long side")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.pad < 1:
        ap.error(f"--pad {args.pad} must be >= 1")
    frames, boxes = read_boxes(args.boxes)
    out = run(args.video, frames, boxes, args.pad)
    meta = {"opencv": cv2.__version__, "pad": args.pad, "person_px": PERSON_PX, "scale": SCALE_STEP}
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **out)
    log.info("HOG found a person in %d of %d boxes -> %s", int(out["found"].sum()), len(frames), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
