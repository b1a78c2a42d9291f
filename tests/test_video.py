"""runtime/video.py: a recording written here is read back frame by frame, in order, as RGB."""

import cv2
import numpy as np
import pytest

from runtime.video import read_frames, video_info


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 12.0, (64, 48))
    for k in range(5):
        bgr = np.zeros((48, 64, 3), np.uint8)
        bgr[..., 2] = 40 * k  # red grows frame by frame (BGR on disk)
        writer.write(bgr)
    writer.release()
    return path


def test_frames_come_back_in_order_as_rgb(clip):
    frames = list(read_frames(clip))
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    reds = [f[..., 0].mean() for f in frames]
    assert np.allclose(reds, [0, 40, 80, 120, 160], atol=4) and max(f[..., 2].mean() for f in frames) < 4
    assert len(list(read_frames(clip, limit=2))) == 2


def test_info_and_unreadable_files(clip, tmp_path):
    count, fps, size = video_info(clip)
    assert count == 5 and fps == pytest.approx(12.0) and size == (64, 48)
    bad = tmp_path / "not-a-video.avi"
    bad.write_bytes(b"nothing")
    with pytest.raises(ValueError, match="not-a-video"):
        next(read_frames(bad))
    with pytest.raises(ValueError, match="not-a-video"):
        video_info(bad)
