"""`/pose` end to end over HTTP against the bare ONNX Runtime model on the same crops.

    python -m bench.bench_pose [--frames 300] [--clients 4] [--no-write]

A 640x480 synthetic camera site with one person is encoded as JPEG and posted frame by frame to
a real uvicorn server (embedded mode, its own process) on this machine. The baseline, run in
this process on the same crops, is `InferenceSession.run` of the same ONNX file the server uses
(the server's own export of the source checkpoint), one crop per call as the server batches one
person. Issue targets (2 CPU cores): p50 at most 30 ms per frame with one person; HTTP and
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

import httpx
import numpy as np
from tqdm import tqdm

from bench.report import machine, write_section
from models import export  # noqa: F401  torchvision (and its LLVM) before the renderer's EGL context: the reverse segfaults
from models.onnx_runtime import CPU, onnx_session
from models.people.finder import PersonFinder
from models.preprocess import crops_to_input
from models.synth.camera_site import SiteConfig, make_site
from models.target_data import SILHOUETTE_SIZE, crops_of
from scripts.serve import free_port
from service.imaging import encode_jpeg

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


def bare_model_times(onnx: Path, frames: np.ndarray) -> list[float]:
    """ONNX Runtime alone on the crops the pipeline cuts from the same frames (ms per frame)."""
    session = onnx_session(onnx, [CPU])
    image_size = int(session.get_inputs()[0].shape[2])
    finder = PersonFinder()
    crops = []
    for f in frames:
        people = finder.apply(f).people
        if people:
            crops.append(crops_of(f, [people[0].blob], image_size, SILHOUETTE_SIZE)[0][0])
    names = [o.name for o in session.get_outputs()]
    times = []
    for c in crops[:3] + crops:  # three warm-up runs
        x = crops_to_input(c[None])
        t = time.perf_counter()
        session.run(names, {"images": x})
        times.append(1000 * (time.perf_counter() - t))
    return times[3:]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30, help="frames the background model learns from first")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients (one site each) for throughput")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    site = make_site(SiteConfig(width=640, height=480, focal=760.0, frames=args.frames, seed=11), progress=True)
    jpegs = [encode_jpeg(f) for f in site.frames]
    decoded = np.stack(site.frames)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(tmp) / "artifacts", port, args.warmup)
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
        bare = bare_model_times(onnx, decoded)

    one = [
        (lat, a) for lat, a in zip(latencies, answers, strict=True) if not a["warming_up"] and len(a["persons"]) == 1
    ]
    lat1 = [lat for lat, _ in one]
    server_total = [a["timings_ms"]["total_ms"] for _, a in one]
    server_bg = [a["timings_ms"]["background_ms"] for _, a in one]
    server_inf = [a["timings_ms"]["inference_ms"] for _, a in one]
    conc = [x for k in sorted(results) for x in results[k][args.warmup :]]
    p50, p99, bare50 = percentile(lat1, 50), percentile(lat1, 99), statistics.median(bare)
    frame_kb = statistics.mean(len(j) for j in jpegs) / 1024
    date = datetime.now(UTC).date().isoformat()
    text = f"""## `/pose` over HTTP (cpu)

Command: `python -m bench.bench_pose --frames {args.frames} --clients {args.clients}` ({date}). Machine: {machine("cpu")}.
Server: one uvicorn process, embedded mode, ONNX Runtime CPU provider, on the same 2 cores as the
client. Frames: 640x480 JPEG (mean {frame_kb:.0f} KiB), one person, synthetic site seed 11; the
first {args.warmup} frames (background warm-up) are not counted. Answers include the mesh vertices (float16).

| what | p50 | p99 | frames |
|---|---|---|---|
| `POST /pose`, one client, client-side latency | **{p50:.1f} ms** | {p99:.1f} ms | {len(lat1)} |
| of which the server's pipeline (decode not included): total | {percentile(server_total, 50):.1f} ms | {percentile(server_total, 99):.1f} ms | |
| of which MOG2 background subtraction | {percentile(server_bg, 50):.1f} ms | {percentile(server_bg, 99):.1f} ms | |
| of which ONNX inference in the server | {percentile(server_inf, 50):.1f} ms | {percentile(server_inf, 99):.1f} ms | |
| bare `InferenceSession.run`, same ONNX file, same crops, this process | {bare50:.1f} ms | {percentile(bare, 99):.1f} ms | {len(bare)} |
| `POST /pose`, {args.clients} concurrent clients (one site each) | {percentile(conc, 50):.1f} ms | {percentile(conc, 99):.1f} ms | {len(conc)} |

- Ratio `/pose` p50 / bare model p50: **{p50 / bare50:.2f}x** (target at most 1.5x); p50 target 30 ms: {"met" if p50 <= 30 else "missed"}.
- Throughput with {args.clients} clients: {args.clients * args.frames / wall:.1f} frames/s ({wall:.1f} s for {args.clients * args.frames} frames, warm-up included); one client: {1000 / statistics.mean(latencies):.1f} frames/s.
- Server process still alive at the end: {server_alive}.
"""
    print(text)
    if not args.no_write:
        write_section(text, "pose-http-cpu")


if __name__ == "__main__":
    main()
