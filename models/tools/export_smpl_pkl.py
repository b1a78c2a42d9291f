"""Write a body model as ``SMPL_NEUTRAL.pkl`` (plain NumPy, no chumpy) for code that expects SMPL files.

    python -m models.tools.export_smpl_pkl OUT_DIR [--model PATH]

``smplx.SMPL("OUT_DIR/SMPL_NEUTRAL.pkl")`` (or ``smplx.create`` on that file) then loads it unchanged;
pass ``vertex_ids=models.body_model.open_vertex_ids()`` so its extra joints land on this mesh. The open model's extra
entries (extra-joint vertex ids, render proxy, provenance) travel along; smplx ignores them.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

from models.atomic import atomic_path
from models.body_model import OPEN_BODY_MODEL
from models.smpl_file import read_body_model_file


def export_smpl_pkl(out_dir: str | Path, model: str | Path | None = None) -> Path:
    data = read_body_model_file(model or OPEN_BODY_MODEL)
    out = Path(out_dir) / "SMPL_NEUTRAL.pkl"
    plain = {
        k: (v.item() if isinstance(v, np.ndarray) and v.dtype.kind == "U" and v.ndim == 0 else v)
        for k, v in data.items()
    }
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        pickle.dump(plain, fh, protocol=4)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    print(f"wrote {export_smpl_pkl(args.out_dir, args.model)}")


if __name__ == "__main__":
    main()
