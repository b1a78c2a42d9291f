"""Shared plumbing for the benchmarks: timing, the machine's description, docs/BENCHMARKS.md sections."""

from __future__ import annotations

import hashlib
import platform
import statistics
import time
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def timeit(fn, repeat: int, warmup: int = 2, device: str = "cpu") -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def file_digest(path: Path) -> str:
    """The first 16 hex digits of a file's sha256: which checkpoint a figure was measured on."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def machine(device: str) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    desc = (
        f"{cpu}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, Python {platform.python_version()}"
    )
    if device == "cuda":
        desc = f"{torch.cuda.get_device_name()} ({desc})"
    return desc


DOC_HEADER = "# Benchmarks\n\nEach section is written by the command it names.\n"


def write_section(text: str, name: str, path: Path = DOC, header: str = DOC_HEADER) -> None:
    """Replace (or append) the section between ``<!-- name:start -->`` and ``<!-- name:end -->`` of
    ``path``; a new file starts with ``header``."""
    START, END = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = path.read_text() if path.exists() else header
    block = f"{START}\n{text.rstrip()}\n{END}"
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    path.write_text(doc)
