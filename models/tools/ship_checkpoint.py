"""Turn a training checkpoint into the shipped one: half precision, no optimiser state.

    python -m models.tools.ship_checkpoint runs/source.pt models/assets/source_cpu.pt

Keeps the config, the prior decoder Psi (part of the regressor), the step and the held-out
history, so the shipped file says how it was made. Regenerate it with
``python -m models.synth.train_source --out runs/source.pt`` then this command.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from models.regressor import regressor_from_checkpoint, save_regressor

LIMIT_BYTES = 25 * 1024 * 1024


def ship(src: Path, dst: Path) -> Path:
    state = torch.load(src, map_location="cpu", weights_only=False)
    regressor = regressor_from_checkpoint(state, path=src)
    extra = {k: state[k] for k in ("step", "history", "train_config", "elapsed_s", "device") if k in state}
    save_regressor(regressor, dst, half=True, extra=extra)
    size = dst.stat().st_size
    if size > LIMIT_BYTES:
        dst.unlink()
        raise SystemExit(f"{dst}: {size / 2**20:.1f} MiB is over the {LIMIT_BYTES / 2**20:.0f} MiB limit")
    return dst


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    args = ap.parse_args(argv)
    out = ship(args.src, args.dst)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
