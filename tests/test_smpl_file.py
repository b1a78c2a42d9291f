"""Licensed-SMPL loading: chumpy-pickled ``.pkl`` files read without chumpy installed."""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from models.body_model import OPEN_BODY_MODEL, load_body_model
from models.smpl_file import BodyModelFileError, read_body_model_file


def _fake_chumpy():
    """A stand-in ``chumpy`` package whose ``Ch`` pickles the way chumpy's does (state with ``x``)."""
    pkg, ch = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x)
            self._dirty_vars = set()

    class Expression:
        def __init__(self, a):
            self.a = a

    Ch.__module__ = Expression.__module__ = "chumpy.ch"
    Ch.__qualname__, Expression.__qualname__ = "Ch", "Expression"
    ch.Ch, ch.Expression, pkg.ch = Ch, Expression, ch
    return pkg, ch


@pytest.fixture
def smpl_pkl(tmp_path, monkeypatch):
    """An SMPL-layout pickle like the licensed ones: chumpy arrays, a sparse J_regressor, no extras."""
    pkg, ch = _fake_chumpy()
    monkeypatch.setitem(sys.modules, "chumpy", pkg)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch)
    src = read_body_model_file(OPEN_BODY_MODEL)

    def write(name, protocol=2, **override):
        d = {
            "v_template": ch.Ch(src["v_template"].astype(np.float64)),
            "shapedirs": ch.Ch(src["shapedirs"][:, :, :10].astype(np.float64)),
            "weights": ch.Ch(src["weights"].astype(np.float64)),
            "posedirs": src["posedirs"].astype(np.float64),
            "J_regressor": scipy.sparse.csc_matrix(src["J_regressor"].astype(np.float64)),
            "kintree_table": src["kintree_table"].astype(np.int64),
            "f": src["f"].astype(np.uint32),
            "bs_type": "lrotmin",
        }
        d.update(override)
        path = tmp_path / name
        path.write_bytes(pickle.dumps(d, protocol=protocol))
        return path

    yield write


def _without_chumpy(monkeypatch):
    monkeypatch.delitem(sys.modules, "chumpy", raising=False)
    monkeypatch.delitem(sys.modules, "chumpy.ch", raising=False)
    with pytest.raises(ImportError):
        __import__("chumpy")


@pytest.mark.parametrize("protocol", [0, 2])
def test_chumpy_pickle_loads_through_the_same_entry_point(smpl_pkl, monkeypatch, protocol):
    path = smpl_pkl("SMPL_NEUTRAL.pkl", protocol=protocol)
    _without_chumpy(monkeypatch)
    licensed, shipped = load_body_model(path), load_body_model()
    betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(1))
    pose = 0.3 * torch.randn(2, 72, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a, b = licensed(betas, pose), shipped(betas, pose)
    assert torch.allclose(a.vertices, b.vertices, atol=1e-5)
    assert torch.allclose(a.joints, b.joints, atol=1e-5)
    assert a.eval_joints.shape == (2, 14, 3)
    # No proxy in the file: one is decimated at load time, small and tied to the mesh.
    assert 0 < len(licensed.proxy_faces) <= 1600
    pv = licensed.proxy_vertices(a.vertices)
    assert pv.shape[0] == 2 and torch.isfinite(pv).all()


def test_a_folder_holding_smpl_neutral_loads(smpl_pkl, monkeypatch):
    path = smpl_pkl("SMPL_NEUTRAL.pkl")
    _without_chumpy(monkeypatch)
    assert load_body_model(path.parent).num_vertices == load_body_model(path).num_vertices


def test_chumpy_expressions_are_refused_with_a_reason(smpl_pkl, monkeypatch):
    ch = sys.modules["chumpy.ch"]
    path = smpl_pkl("expr.pkl", shapedirs=ch.Expression(a=1))
    _without_chumpy(monkeypatch)
    with pytest.raises(BodyModelFileError, match="chumpy expression"):
        read_body_model_file(path)


def test_missing_arrays_and_garbage_are_refused(smpl_pkl, tmp_path):
    path = smpl_pkl("partial.pkl")
    d = pickle.loads(path.read_bytes())
    del d["J_regressor"]
    path.write_bytes(pickle.dumps(d))
    with pytest.raises(BodyModelFileError, match="J_regressor"):
        read_body_model_file(path)
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle at all")
    with pytest.raises(BodyModelFileError):
        read_body_model_file(junk)
    with pytest.raises(BodyModelFileError, match="no such file"):
        read_body_model_file(tmp_path / "absent.pkl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BodyModelFileError, match="SMPL_NEUTRAL"):
        read_body_model_file(tmp_path / "empty")


def test_settings_choose_the_licensed_file(smpl_pkl, monkeypatch):
    from runtime.settings import Settings

    path = smpl_pkl("SMPL_NEUTRAL.pkl")
    _without_chumpy(monkeypatch)
    monkeypatch.setenv("SILHOUETTE_BODY_MODEL_PATH", str(path))
    body = load_body_model(Settings().body_model_path)
    assert body.name == "SMPL_NEUTRAL"
    monkeypatch.delenv("SILHOUETTE_BODY_MODEL_PATH")
    assert load_body_model(Settings().body_model_path).name == "open-anny"
