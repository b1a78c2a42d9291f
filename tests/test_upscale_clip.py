"""bench.upscale_clip: the enlarged clip and masks are the originals at K times the size."""

import io
import tarfile

import cv2
import numpy as np
import pytest

from bench import footage_io as fio
from bench import upscale_clip as uc


def _tar(path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_masks_are_enlarged_by_nearest_neighbour_and_keep_their_layout(tmp_path):
    rng = np.random.default_rng(0)
    masks = {i: rng.choice(np.array([0, 50, 170, 255], np.uint8), (12, 16)) for i in (1, 2)}
    roi = np.full((12, 16), 255, np.uint8)
    roi[:, :3] = 0
    files = {f"groundtruth/gt{i:06d}.png": cv2.imencode(".png", m)[1].tobytes() for i, m in masks.items()}
    files["groundtruth/ROI.bmp"] = cv2.imencode(".bmp", roi)[1].tobytes()
    files["groundtruth/temporalROI.txt"] = b"1 2\n"
    _tar(tmp_path / "a.tar", files)
    assert uc.upscale_masks(tmp_path / "a.tar", tmp_path / "b.tar", 3) == 2
    small, big = fio.read_ground_truth(tmp_path / "a.tar"), fio.read_ground_truth(tmp_path / "b.tar")
    assert big.temporal_roi == small.temporal_roi == (1, 2)
    for i in masks:
        assert np.array_equal(big.masks[i], np.repeat(np.repeat(small.masks[i], 3, 0), 3, 1))


def test_the_video_is_enlarged_frame_by_frame(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 24))
    for k in range(4):
        writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
    writer.release()
    assert uc.upscale_video(tmp_path / "v.avi", tmp_path / "w.avi", 2) == 4
    cap = cv2.VideoCapture(str(tmp_path / "w.avi"))
    ok, frame = cap.read()
    assert ok and frame.shape == (48, 64, 3)


def test_it_refuses_to_write_into_the_repository(tmp_path):
    with pytest.raises(SystemExit):
        uc.main([str(tmp_path / "v.avi"), "--out", str(fio.ROOT / "runs" / "x")])
    with pytest.raises(SystemExit):
        uc.main([str(tmp_path / "v.avi"), "--factor", "1", "--out", str(tmp_path)])
