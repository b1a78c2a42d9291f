"""bench.clip_variant: the resized and grey clips and masks are the originals, resized or grey."""

import io
import tarfile

import cv2
import numpy as np
import pytest

from bench import clip_variant as uc
from bench import footage_io as fio


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
    assert uc.write_masks(tmp_path / "a.tar", tmp_path / "b.tar", 3) == 2
    small, big = fio.read_ground_truth(tmp_path / "a.tar"), fio.read_ground_truth(tmp_path / "b.tar")
    assert big.temporal_roi == small.temporal_roi == (1, 2)
    for i in masks:
        assert np.array_equal(big.masks[i], np.repeat(np.repeat(small.masks[i], 3, 0), 3, 1))


def test_the_video_is_enlarged_frame_by_frame(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 24))
    for k in range(4):
        writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
    writer.release()
    assert uc.write_video(tmp_path / "v.avi", tmp_path / "w.avi", 2, False) == 4
    ok, frame = cv2.VideoCapture(str(tmp_path / "w.avi")).read()
    assert ok and frame.shape == (48, 64, 3)
    assert uc.write_video(tmp_path / "v.avi", tmp_path / "g.avi", 0.5, True) == 4
    ok, frame = cv2.VideoCapture(str(tmp_path / "g.avi")).read()
    assert ok and frame.shape == (12, 16, 3)


def test_a_grey_frame_is_its_luminance_in_every_channel():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    grey = uc.variant_frame(frame, 1, True)
    assert grey.shape == frame.shape and (grey == cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None]).all()
    assert uc.variant_frame(frame, 2, False).shape == (16, 20, 3)
    assert uc.variant_stem("clip", 0.5, True) == "clip_x0.5_grey" and uc.variant_stem("clip", 3, False) == "clip_x3"


def test_it_refuses_to_write_into_the_repository(tmp_path):
    with pytest.raises(SystemExit):
        uc.main([str(tmp_path / "v.avi"), "--scale", "3", "--out", str(fio.ROOT / "runs" / "x")])
    for bad in (["--scale", "1"], ["--scale", "20"]):
        with pytest.raises(SystemExit):
            uc.main([str(tmp_path / "v.avi"), *bad, "--out", str(tmp_path)])
