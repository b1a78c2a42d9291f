# Two images from one file, both installed from the lock files in requirements/:
#   --target api     the HTTP service: ONNX Runtime (GPU build), OpenCV, FastAPI; no torch
#   --target worker  the adaptation workers (and the one-shot `prepare`): the api image plus torch,
#                    PyTorch3D and smplx (the "ml" extra)
# On a GPU host the onnxruntime-gpu and torch wheels bring their own CUDA user-space libraries;
# the host needs only the NVIDIA driver.
FROM python:3.11-slim AS api

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/api.lock requirements/api.lock
RUN pip install -r requirements/api.lock
COPY pyproject.toml README.md ./
COPY models ./models
COPY runtime ./runtime
COPY service ./service
COPY worker ./worker
COPY scripts ./scripts
RUN pip install --no-deps .
RUN useradd --create-home app && mkdir -p /artifacts && chown app /artifacts
USER app
ENV SILHOUETTE_ARTIFACT_DIR=/artifacts
EXPOSE 8000
CMD ["uvicorn", "service.app:app", "--host", "0.0.0.0", "--port", "8000"]

FROM api AS worker
USER root
COPY requirements/worker.lock requirements/worker.lock
RUN pip install -r requirements/worker.lock
USER app
CMD ["celery", "-A", "worker.celery_app", "worker", "-Q", "adapt", "--concurrency", "1", "--pool", "prefork"]
