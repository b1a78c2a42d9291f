# One image for the API and the workers. On a GPU host the torch and onnxruntime-gpu wheels
# bring their own CUDA 13 user-space libraries; the host needs only the NVIDIA driver.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 libegl1 libegl-mesa0 libgl1-mesa-dri \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY models ./models
COPY service ./service
COPY worker ./worker
RUN pip install .
RUN useradd --create-home app && mkdir -p /artifacts && chown app /artifacts
USER app
ENV SILHOUETTE_ARTIFACT_DIR=/artifacts
EXPOSE 8000
# The compose file picks the command (api or worker); alone, the image serves the API.
CMD ["uvicorn", "service.app:app", "--host", "0.0.0.0", "--port", "8000"]
