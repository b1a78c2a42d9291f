"""Prepare the artifact store for serving: export the source checkpoint's ONNX graph once.

    python -m runtime.prepare            # settings from SILHOUETTE_* (artifact dir, checkpoint)

API processes serve with ONNX Runtime alone: they read this graph and need no torch. The
export needs torch, so it runs where torch is installed (the worker's image; docker compose runs
it as the one-shot ``prepare`` service before the API starts). Running it again does nothing.
"""

from __future__ import annotations

import logging

from runtime.model_store import ModelStore
from runtime.settings import get_settings

log = logging.getLogger(__name__)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    store = ModelStore(settings.artifact_dir, settings.source_checkpoint, settings.flip_average)
    was_ready = store.base_ready()
    onnx = store.ensure_base()
    log.info("source model %s: %s", "already exported" if was_ready else "exported", onnx)


if __name__ == "__main__":
    main()
