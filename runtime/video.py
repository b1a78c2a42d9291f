"""Recordings read with OpenCV, one frame at a time (a recording need not fit in memory).

for frame in read_frames(Path("clip.avi"), limit=100): ...     # (H, W, 3) RGB uint8
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

DEFAULT_FPS = 25.0  # a container that states no frame rate: 25 is the commonest


def read_frames(video: Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """The video's frames in order, each (H, W, 3) RGB uint8; at most ``limit``; ValueError if unreadable."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise ValueError(f"{video}: not a video OpenCV can read")
    try:
        n = 0
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok:
                return
            n += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def video_info(video: Path) -> tuple[int, float, tuple[int, int]]:
    """(frame count as the container says, frames per second, (width, height)); ValueError if unreadable."""
    cap = cv2.VideoCapture(str(video))
    try:
        if not cap.isOpened():
            raise ValueError(f"{video}: not a video OpenCV can read")
        count, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        cap.release()
    return count, fps if fps > 0 else DEFAULT_FPS, size
