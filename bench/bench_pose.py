"""`/pose` end to end over HTTP against the bare ONNX Runtime model on the same crops.

    python -m bench.bench_pose [--frames 300] [--clients 4] [--no-write]

A 640x480 synthetic camera site with one person is encoded as JPEG and posted frame by frame to
a real uvicorn server (embedded mode, its own process) on this machine. The baseline, run in
this process on the same crops, is `InferenceSession.run` of the same ONNX file the server uses
(the server's own export of the source checkpoint), one crop per call as the server batches one
person; beside it the same checkpoint exported without flip averaging, on the same crops. Issue
targets (2 CPU cores): p50 at most 30 ms per frame with one person; HTTP and
pipeline overhead at most 1.5x the bare model time. Writes its section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import cv2
import httpx
import numpy as np
from tqdm import tqdm

from bench.report import machine, write_section
from models import export  # first: torchvision (and its LLVM) before the renderer's EGL context: the reverse segfaults
from models.onnx_runtime import CPU, onnx_session
from models.people.finder import DEFAULT_PERSON_CHECK, FinderConfig, PersonCheck, PersonFinder
from models.preprocess import crops_to_input
from models.regressor import load_regressor
from models.synth.camera_site import SiteConfig, make_site
from models.target_data import SILHOUETTE_SIZE, crops_of
from runtime.settings import Settings
from scripts.serve import free_port
from service.imaging import decode_frame, encode_jpeg

ROOT = Path(__file__).resolve().parents[1]


def start_server(
    artifacts: Path, port: int, warmup: int, redis_url: str | None = None, extra_env: dict | None = None
) -> subprocess.Popen:
    """A uvicorn API process on ``port``: embedded mode, or Redis mode with ``redis_url``."""
    env = {k: v for k, v in os.environ.items() if k not in ("SILHOUETTE_REDIS_URL", "SILHOUETTE_API_KEY")}
    env.update(
        {
            "SILHOUETTE_ARTIFACT_DIR": str(artifacts),
            "SILHOUETTE_WARMUP_FRAMES": str(warmup),
            "SILHOUETTE_ONNX_PROVIDERS": "CPUExecutionProvider",
            **(extra_env or {}),
        }
    )
    if redis_url:
        env["SILHOUETTE_REDIS_URL"] = redis_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.app:app", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json().get("ready"):
                return proc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not become ready in 300 s")


CROWD_COLUMNS, CROWD_ROWS = 5, 4  # a grid of cells, one person walking in each


def crowd_frames(people: int, width: int, height: int, frames: int, seed: int = 12) -> list[np.ndarray]:
    """(frames) RGB frames of ``people`` people walking at once, (height, width, 3) uint8.

    One 320x240 site is rendered; its background, scaled up, is the scene, and in each cell of a
    grid a copy of its walker (at a different moment of the walk, so the copies move apart) is
    pasted through the true mask. Not a physically consistent crowd: a load of ``people``
    separate person blobs for the pipeline, which is what this benchmark times."""
    if people > CROWD_COLUMNS * CROWD_ROWS:
        raise ValueError(f"people must be at most {CROWD_COLUMNS * CROWD_ROWS}, got {people}")
    small = make_site(SiteConfig(width=320, height=240, frames=frames, seed=seed), progress=True)
    empty = np.median(np.stack(small.frames[:: max(frames // 15, 1)]), axis=0).astype(np.uint8)
    scene = cv2.resize(empty, (width, height), interpolation=cv2.INTER_LINEAR)
    cw, ch = width // CROWD_COLUMNS, height // CROWD_ROWS
    out = []
    for t in range(frames):
        frame = scene.copy()
        for k in range(people):
            src = (t + 17 * k) % frames
            mask = small.masks[src]
            if not mask.any():
                continue
            ys, xs = np.nonzero(mask)
            top, left = ys.min(), xs.min()
            bh, bw = ys.max() + 1 - top, xs.max() + 1 - left
            if bh > ch or bw > cw:  # a walker too large for a cell is left out of this frame
                continue
            oy = (k // CROWD_COLUMNS) * ch + (ch - bh) // 2
            ox = (k % CROWD_COLUMNS) * cw + min(max(left - 160 + cw // 2 - bw // 2, 0), cw - bw)
            patch = (ys - top + oy, xs - left + ox)
            frame[patch] = small.frames[src][ys, xs]
        out.append(frame)
    return out


def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def post_frames(url: str, frames: list[bytes], site: str, bar: tqdm | None = None) -> tuple[list[float], list[dict]]:
    """Post frames in order on one keep-alive connection: client latencies (ms) and answers."""
    latencies, answers = [], []
    with httpx.Client(timeout=30) as client:
        for data in frames:
            t = time.perf_counter()
            r = client.post(f"{url}/v1/sites/{site}/pose", content=data, headers={"content-type": "image/jpeg"})
            latencies.append(1000 * (time.perf_counter() - t))
            r.raise_for_status()
            answers.append(r.json())
            if bar is not None:
                bar.update(1)
    return latencies, answers


def bare_model_times(
    onnx: Path, frames: np.ndarray, finder_config: FinderConfig, warmup: int
) -> tuple[list[float], list[float]]:
    """ONNX Runtime alone on the crops the pipeline cuts from the same frames, one batch per frame
    (ms per frame), and the served person finder's own time per frame after warm-up (ms), both in
    this process: the two parts of a request that need no HTTP."""
    session = onnx_session(onnx, [CPU])
    image_size = int(session.get_inputs()[0].shape[2])
    finder = PersonFinder(finder_config)
    batches = []  # each frame's crops, batched as the server batches the people of a frame
    finder_times = []
    for k, f in enumerate(frames):
        t = time.perf_counter()
        people = finder.apply(f).people
        if k >= warmup:
            finder_times.append(1000 * (time.perf_counter() - t))
        if people:
            batches.append(
                np.stack(
                    crops_of(f, [p.blob for p in people], image_size, SILHOUETTE_SIZE, [p.extent for p in people])[0]
                )
            )
    names = [o.name for o in session.get_outputs()]
    times = []
    for c in batches[:3] + batches:  # three warm-up runs
        x = crops_to_input(c)
        t = time.perf_counter()
        session.run(names, {"images": x})
        times.append(1000 * (time.perf_counter() - t))
    return times[3:], finder_times


def decode_times(jpegs: list[bytes]) -> list[float]:
    """The service's own JPEG decoding (checks included) of each frame, ms."""
    times = []
    for data in jpegs:
        t = time.perf_counter()
        decode_frame(data, 1 << 30, "image/jpeg")
        times.append(1000 * (time.perf_counter() - t))
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30, help="frames the background model learns from first")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients (one site each) for throughput")
    ap.add_argument("--people", type=int, default=1, help="people per frame: 1 renders a site, more a crowd")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument(
        "--person-check",
        choices=get_args(PersonCheck),
        default=None,
        help="the finder's silhouette check (default: the service's own default)",
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.people < 1:
        ap.error(f"--people {args.people}: at least 1")

    if args.people == 1:
        focal = 760.0 * args.width / 640
        site = make_site(SiteConfig(width=args.width, height=args.height, focal=focal, frames=args.frames, seed=11))
        frames = site.frames
    else:
        frames = crowd_frames(args.people, args.width, args.height, args.frames)
    jpegs = [encode_jpeg(f) for f in frames]
    decoded = np.stack(frames)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        check_env = {"SILHOUETTE_PERSON_CHECK": args.person_check} if args.person_check else None
        server = start_server(Path(tmp) / "artifacts", port, args.warmup, extra_env=check_env)
        try:
            bar = tqdm(total=args.frames * (1 + args.clients), desc="POST /pose")
            latencies, answers = post_frames(url, jpegs, "bench-1", bar)
            # Throughput: several clients, each streaming its own site (its own background model).
            results: dict[int, list[float]] = {}

            def client(k: int) -> None:
                results[k] = post_frames(url, jpegs, f"bench-c{k}", bar)[0]

            t = time.perf_counter()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t
            bar.close()
            onnx = next((Path(tmp) / "artifacts" / "base").glob("*/model.onnx"))
            server_alive = server.poll() is None
        finally:
            server.terminate()
            server.wait(30)
        finder_config = FinderConfig.with_warmup(args.warmup, person_check=args.person_check or DEFAULT_PERSON_CHECK)
        bare, finder_alone = bare_model_times(onnx, decoded, finder_config, args.warmup)
        # The baseline of flip averaging (SILHOUETTE_FLIP_AVERAGE, on when served): the same
        # checkpoint's graph answering each crop once, on the same crops, in this process.
        plain_onnx = export.export_onnx(
            load_regressor(Settings().source_checkpoint), Path(tmp) / "plain.onnx", flip=False
        )
        plain = bare_model_times(plain_onnx, decoded, finder_config, args.warmup)[0]
        decoding = decode_times(jpegs)

    # One person: the frames answered with them (a person is answered once confirmed, from their
    # third frame). A crowd: every frame after warm-up (its copies come and go; see crowd_frames).
    one = [
        (lat, a)
        for lat, a in zip(latencies, answers, strict=True)
        if not a["warming_up"] and (len(a["persons"]) == 1 or args.people > 1)
    ]
    counts = [len(a["persons"]) for a in answers if not a["warming_up"]]
    lat1 = [lat for lat, _ in one]
    server_total = [a["timings_ms"]["total_ms"] for _, a in one]
    server_bg = [a["timings_ms"]["background_ms"] for _, a in one]
    server_inf = [a["timings_ms"]["inference_ms"] for _, a in one]
    server_fit = [a["timings_ms"].get("camera_fit_ms", 0.0) for _, a in one]
    server_limbs = [a["timings_ms"].get("limb_fit_ms", 0.0) for _, a in one]
    conc = [x for k in sorted(results) for x in results[k][args.warmup :]]
    p50, p99, bare50 = percentile(lat1, 50), percentile(lat1, 99), statistics.median(bare)
    frame_kb = statistics.mean(len(j) for j in jpegs) / 1024
    date = datetime.now(UTC).date().isoformat()
    size = f"{args.width}x{args.height}"
    met = "met" if p50 <= 30 else "missed"
    latency_target = f"; p50 target 30 ms: {met}" if args.people == 1 else ""
    scene = "one person, synthetic site seed 11" if args.people == 1 else f"{args.people} people (`crowd_frames`)"
    flags = (
        ""
        if args.people == 1 and size == "640x480"
        else f" --people {args.people} --width {args.width} --height {args.height}"
    ) + (f" --person-check {args.person_check}" if args.person_check else "")
    check = args.person_check or DEFAULT_PERSON_CHECK
    dec50, find50 = statistics.median(decoding), statistics.median(finder_alone)
    floor = dec50 + find50 + bare50
    checked = f", person check {args.person_check}" if args.person_check else ""
    text = f"""## `/pose` over HTTP (cpu, {size}, {args.people} {"person" if args.people == 1 else "people"}{checked})

Command: `python -m bench.bench_pose --frames {args.frames} --clients {args.clients}{flags}` ({date}). Machine: {machine("cpu")}.
Server: one uvicorn process, embedded mode, ONNX Runtime CPU provider, on the same 2 cores as the
client; the person finder as served (MOG2 at 320 px wide, gain compensation, registration, grouping, tracking,
the silhouette person check `{check}`).
Frames: {size} JPEG (mean {frame_kb:.0f} KiB), {scene}; the first {args.warmup} frames (background warm-up)
are not counted. People are answered from their third frame, once their track is confirmed; people answered
per frame after warm-up: mean {statistics.mean(counts):.1f}, most {max(counts)}{" (the crowd's copies jump back to their walk's start now and then, and are then new people)" if args.people > 1 else ""}.
Answers include the mesh vertices (float16).

| what | p50 | p99 | frames |
|---|---|---|---|
| `POST /pose`, one client, client-side latency | **{p50:.1f} ms** | {p99:.1f} ms | {len(lat1)} |
| of which the server's pipeline (decode not included): total | {percentile(server_total, 50):.1f} ms | {percentile(server_total, 99):.1f} ms | |
| of which finding people (foreground, blobs, grouping, tracking) | {percentile(server_bg, 50):.1f} ms | {percentile(server_bg, 99):.1f} ms | |
| of which ONNX inference in the server | {percentile(server_inf, 50):.1f} ms | {percentile(server_inf, 99):.1f} ms | |
| of which fitting each person's camera to their silhouette (`SILHOUETTE_CAMERA_FIT`) | {percentile(server_fit, 50):.1f} ms | {percentile(server_fit, 99):.1f} ms | |
| of which then fitting each person's limbs to it (`SILHOUETTE_LIMB_FIT`) | {percentile(server_limbs, 50):.1f} ms | {percentile(server_limbs, 99):.1f} ms | |
| bare `InferenceSession.run`, same ONNX file, same crops, this process | {bare50:.1f} ms | {percentile(bare, 99):.1f} ms | {len(bare)} |
| the same without flip averaging (`SILHOUETTE_FLIP_AVERAGE=false`), same crops, this process | {statistics.median(plain):.1f} ms | {percentile(plain, 99):.1f} ms | {len(plain)} |
| `POST /pose`, {args.clients} concurrent clients (one site each) | {percentile(conc, 50):.1f} ms | {percentile(conc, 99):.1f} ms | {len(conc)} |
| JPEG decoding as the service does it, this process | {dec50:.1f} ms | {percentile(decoding, 99):.1f} ms | {len(decoding)} |
| the person finder alone, same frames, this process | {find50:.1f} ms | {percentile(finder_alone, 99):.1f} ms | {len(finder_alone)} |

- Ratio `/pose` p50 / bare model p50: **{p50 / bare50:.2f}x** (target at most 1.5x){latency_target}.
- Flip averaging (served by default, `models/flip_average.py`): the served graph's p50 is {bare50 / statistics.median(plain):.2f}x the graph that answers each crop once.
- Without HTTP, the sum of decoding, finding people and the bare model (p50s, this process) is {floor:.1f} ms, {floor / bare50:.2f}x the bare model: what no server around this pipeline can go under; the rest ({p50 - floor:.1f} ms) is HTTP, the crop, the camera and limb fits, the body model's vertices and the answer's JSON.
- Throughput with {args.clients} clients: {args.clients * args.frames / wall:.1f} frames/s ({wall:.1f} s for {args.clients * args.frames} frames, warm-up included); one client: {1000 / statistics.mean(latencies):.1f} frames/s.
- Server process still alive at the end: {server_alive}.
"""
    print(text)
    if not args.no_write:
        write_section(
            text,
            ("pose-http-cpu" if args.people == 1 and size == "640x480" else f"pose-http-cpu-{size}-{args.people}")
            + (f"-check-{args.person_check}" if args.person_check else ""),
        )


if __name__ == "__main__":
    main()
