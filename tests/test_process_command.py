"""scripts/process.py: ``silhouette-adapt process`` on a short rendered clip and on the first frames of
pets-walk (skipped where ../shared is absent): the overlay video and every track's files load back."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

from scripts.process import main, site_name
from service.exports import GLTF_FROM_CAMERA
from tests.service_helpers import site_jpegs, tiny_checkpoint

ROOT = Path(__file__).resolve().parent.parent
PETS = ROOT.parent / "shared" / "data" / "pets-walk.avi"


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("process") / "source.pt")


def check_outputs(out: Path, frames: int, size: tuple[int, int]) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == frames and summary["throughput_fps"]["pipeline"] > 0
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape[1::-1] == size
    assert summary["tracks"] and sum(t["frames"] for t in summary["tracks"]) == summary["person_frames"]
    for t in summary["tracks"]:
        stem = out / "tracks" / f"track-{t['track_id']}"
        with np.load(stem.with_suffix(".npz")) as f:
            assert len(f["frame_index"]) == t["frames"] and f["frame_index"][0] == t["first_frame"]
            assert np.allclose(f["video_time"], f["frame_index"] / summary["video_fps"])
            placed = (f["vertices"].astype(np.float32) + f["translation"][:, None]) * GLTF_FROM_CAMERA
            indices = f["frame_index"]
        scene = trimesh.load(io.BytesIO(stem.with_suffix(".glb").read_bytes()), file_type="glb", process=False)
        assert len(scene.geometry) == t["frames"]
        for i, index in enumerate(indices):
            assert np.allclose(scene.geometry[f"frame-{index}"].vertices, placed[i], atol=1e-5)
    return summary


def test_process_a_rendered_clip(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("SILHOUETTE_SOURCE_CHECKPOINT", str(tiny_model))
    monkeypatch.setenv("SILHOUETTE_WARMUP_FRAMES", "5")
    frames = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)[..., ::-1] for j in site_jpegs(frames=24)]
    clip = write_clip(tmp_path / "Lobby Cam.avi", frames)
    main(["process", str(clip), "--out", str(tmp_path / "out"), "--artifacts", str(tmp_path / "artifacts")])
    summary = check_outputs(tmp_path / "out", 24, (160, 120))
    assert summary["site"] == "lobby-cam" and summary["adaptation"] is None


def test_adapt_first_then_the_files_come_from_what_the_gate_left_active(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("SILHOUETTE_SOURCE_CHECKPOINT", str(tiny_model))
    monkeypatch.setenv("SILHOUETTE_WARMUP_FRAMES", "5")
    monkeypatch.setenv("SILHOUETTE_MIN_ADAPT_CROPS", "8")
    frames = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)[..., ::-1] for j in site_jpegs(frames=32)]
    clip = write_clip(tmp_path / "clip.avi", frames)
    argv = ["process", str(clip), "--adapt", "--iterations", "2", "--artifacts", str(tmp_path / "artifacts")]
    main([*argv, "--out", str(tmp_path / "out")])
    summary = check_outputs(tmp_path / "out", 32, (160, 120))
    job = summary["adaptation"]
    assert job["state"] == "succeeded", job
    expected = job["result"]["version"] if job["result"]["activated"] else "source"
    assert summary["model_version"] == expected
    # Too few frames to adapt on: said, and the run goes on with the active model.
    main([*argv, "--out", str(tmp_path / "few"), "--max-frames", "8"])
    few = json.loads((tmp_path / "few" / "summary.json").read_text())
    assert few["adaptation"]["state"] == "refused" and "buffered person crops" in few["adaptation"]["error"]


@pytest.mark.skipif(not PETS.exists(), reason="../shared/data/pets-walk.avi is not here")
def test_process_the_first_frames_of_pets_walk(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("SILHOUETTE_SOURCE_CHECKPOINT", str(tiny_model))
    argv = ["process", str(PETS), "--site", "pets", "--out", str(tmp_path / "out"), "--max-frames", "60"]
    main([*argv, "--artifacts", str(tmp_path / "artifacts")])
    summary = check_outputs(tmp_path / "out", 60, (480, 360))
    assert summary["person_frames"] > 0  # people walk in by then


def test_bad_arguments_exit_with_a_reason(tmp_path):
    with pytest.raises(SystemExit, match="no such file"):
        main(["process", str(tmp_path / "missing.avi")])
    (tmp_path / "x.avi").write_bytes(b"")
    with pytest.raises(SystemExit, match="bad site id"):
        main(["process", str(tmp_path / "x.avi"), "--site", "Bad Site"])
    with pytest.raises(SystemExit, match="--max-frames 0"):
        main(["process", str(tmp_path / "x.avi"), "--max-frames", "0"])
    with pytest.raises(SystemExit, match="not a video OpenCV can read"):
        main(["process", str(tmp_path / "x.avi"), "--out", str(tmp_path / "out")])
    assert site_name(Path("/v/Pets Walk (2).AVI")) == "pets-walk-2"


def test_the_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["silhouette-adapt"].split(":")
    assert (module, function) == ("scripts.process", "main")
