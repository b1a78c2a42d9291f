"""Read body-model files in SMPL's layout, including the original chumpy-pickled SMPL ``.pkl``.

The SMPL files distributed by the licensors pickle some arrays as ``chumpy.Ch`` objects.
Chumpy no longer imports on current NumPy, so unpickling them normally fails. Here every
``chumpy`` class resolves to a stand-in that only keeps the pickled state; the array inside
(``x``) is then taken out. Nothing from chumpy is executed and chumpy need not be installed.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from models import ASSETS

OPEN_BODY_MODEL = ASSETS / "open_body_model.npz"  # the shipped open body (CC0), in SMPL's layout
REQUIRED_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")


class BodyModelFileError(ValueError):
    """The file is not a readable body model in SMPL's layout."""


class _ChumpyStandIn:
    """Takes the place of any chumpy class during unpickling and keeps its state."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        self._args = args

    def __setstate__(self, state):
        if isinstance(state, tuple):  # (dict, slots) form
            state = {**(state[0] or {}), **(state[1] or {})}
        self._state = state

    def to_array(self) -> np.ndarray:
        state = getattr(self, "_state", None)
        if isinstance(state, dict) and "x" in state:
            return np.asarray(state["x"])
        raise BodyModelFileError(
            "a chumpy expression (not a plain chumpy array) was found in the model file; "
            "only plain arrays can be read without chumpy"
        )


class _ChumpyFreeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        return super().find_class(module, name)


def _plain(value: Any) -> Any:
    if isinstance(value, _ChumpyStandIn):
        return value.to_array()
    return value


def read_smpl_pkl(path: str | Path) -> dict[str, Any]:
    """An SMPL ``.pkl`` as a dict of plain arrays (sparse matrices stay scipy.sparse)."""
    with open(path, "rb") as fh:
        try:
            data = _ChumpyFreeUnpickler(fh, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
            raise BodyModelFileError(f"{path}: not a readable SMPL pickle ({exc})") from exc
    if not isinstance(data, dict):
        raise BodyModelFileError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
    return {k: _plain(v) for k, v in data.items()}


def read_npz(path: str | Path) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def read_body_model_file(path: str | Path) -> dict[str, Any]:
    """A body-model file (``.npz``, ``.pkl``, or a folder holding ``SMPL_NEUTRAL.pkl``) as plain arrays."""
    path = Path(path)
    if path.is_dir():
        candidates = [
            path / n for n in ("SMPL_NEUTRAL.pkl", "SMPL_NEUTRAL.npz", "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl")
        ]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise BodyModelFileError(f"{path}: no SMPL_NEUTRAL.pkl or .npz in this folder")
        path = found[0]
    if not path.exists():
        raise BodyModelFileError(f"{path}: no such file")
    data = read_npz(path) if path.suffix == ".npz" else read_smpl_pkl(path)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise BodyModelFileError(f"{path}: missing {', '.join(missing)}")
    return data


def body_model_data(path: str | Path | None = None) -> dict[str, Any]:
    """The arrays of a body model: the shipped open body (``None``) or a licensed SMPL file, read with
    NumPy alone (serving needs the mesh and its skinning, not torch)."""
    return read_body_model_file(Path(path) if path else OPEN_BODY_MODEL)


def mesh_faces(path: str | Path | None = None) -> np.ndarray:
    """(F, 3) int64 vertex indices of a body model's mesh (:func:`body_model_data`)."""
    return np.asarray(body_model_data(path)["f"], dtype=np.int64)


def mesh_template(path: str | Path | None = None) -> np.ndarray:
    """(V, 3) rest vertices of a body model's mesh, as :func:`mesh_faces` reads its faces."""
    return np.asarray(body_model_data(path)["v_template"], dtype=np.float64)
