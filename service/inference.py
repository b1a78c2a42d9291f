"""ONNX Runtime inference per site, with hot swaps that never fail or delay a request.

Each site's active version is looked up in the model store. A background thread polls the
active pointers; when one changes it loads the new version's session, runs a warm-up batch, and
only then publishes it (a single reference assignment). A request takes the session reference
once and uses it to the end, so requests in flight finish on the old model and the next ones
get the new one. Loaded sessions are capped (least recently used go first); a version that
fails to load is never published and the site keeps serving the previous one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from onnxruntime import InferenceSession

from models.onnx_runtime import INPUT, OUTPUTS, onnx_session
from models.preprocess import crops_to_input
from runtime.model_store import SOURCE, ModelStore

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    version: str
    session: InferenceSession
    image_size: int
    provider: str

    def run(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """(B, S, S, 3) uint8 crops -> pose (B, 72), betas (B, 10), camera (B, 3), vertices, joints."""
        return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), {INPUT: crops_to_input(crops)}), strict=True))


def load_model(path: str, version: str, providers: list[str]) -> LoadedModel:
    session = onnx_session(path, providers)
    size = int(session.get_inputs()[0].shape[2])
    model = LoadedModel(version=version, session=session, image_size=size, provider=session.get_providers()[0])
    model.run(np.zeros((1, size, size, 3), np.uint8))  # warm-up: the first run allocates
    return model


class ModelServer:
    def __init__(self, store: ModelStore, providers: list[str], max_loaded: int = 8, poll_s: float = 0.5):
        self.store = store
        self.providers = providers
        self.max_loaded = max_loaded
        self.poll_s = poll_s
        self._cache: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()  # (onnx path, version)
        self._active: dict[str, LoadedModel] = {}  # site -> published model
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.base: LoadedModel | None = None
        self.swaps = 0
        self.load_failures = 0

    def start(self) -> None:
        self.base = self._load(str(self.store.ensure_base()), SOURCE)
        self._thread = threading.Thread(target=self._watch, name="model-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _load(self, path: str, version: str) -> LoadedModel:
        key = (path, version)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        model = load_model(path, version, self.providers)
        with self._lock:
            self._cache[key] = model
            # Loaded to be published: pinned with the sites' models and the source, not evicted first.
            pinned = {id(m) for m in self._active.values()} | {id(self.base), id(model)}
            for k in list(self._cache):
                if len(self._cache) <= self.max_loaded:
                    break
                if id(self._cache[k]) not in pinned:
                    del self._cache[k]
        return model

    def _started_base(self) -> LoadedModel:
        if self.base is None:
            raise RuntimeError("the model server has not started: start() loads the source model")
        return self.base

    def refresh(self, site: str) -> LoadedModel:
        """Make the site's published model match its active pointer (load and warm up first)."""
        base = self._started_base()
        version = self.store.active(site)
        current = self._active.get(site)
        if current is not None and current.version == version:
            return current
        if version == SOURCE:
            model = base
        else:
            try:
                model = self._load(str(self.store.version_dir(site, version) / "model.onnx"), version)
            except Exception:
                self.load_failures += 1
                log.exception(
                    "site %s: version %s failed to load; still serving %s",
                    site,
                    version,
                    current.version if current else SOURCE,
                )
                return current or base
        with self._lock:
            self._active[site] = model
            if current is not None:
                self.swaps += 1
        return model

    def model_for(self, site: str) -> LoadedModel:
        model = self._active.get(site)
        return model if model is not None else self.refresh(site)

    def serving_version(self, site: str) -> str | None:
        model = self._active.get(site)
        return model.version if model is not None else None

    def loaded_versions(self) -> int:
        with self._lock:
            return len(self._cache)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            for site in list(self._active):
                try:
                    self.refresh(site)
                except Exception:
                    log.exception("site %s: refresh failed", site)

    def wait_for(self, site: str, version: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.refresh(site).version == version:
                return True
            time.sleep(0.05)
        return False
