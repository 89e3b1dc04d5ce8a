# Two commands do everything: `make demo` and `make test`. Both create or reuse .venv,
# install the project into it (skipped when setup.cfg has not changed since), and check
# the Debian packages a headless display needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.selectivity-installed
APT_PACKAGES := xvfb xauth libgl1 libgl1-mesa-dri libglu1-mesa libglib2.0-0 libxcb-cursor0 \
	libportaudio2 libsndfile1 libasound2 xdotool postgresql
# postgresql: the server binaries the chain-store tests start (initdb, pg_ctl) on a loopback port.
# Without a display, the demo's PsychoPy window opens on a virtual one (24-bit: 16-bit hangs pyglet).
XVFB := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1280x1024x24")

.PHONY: demo test lint typecheck check system-deps install clean

demo: system-deps $(STAMP)
	$(XVFB) $(BIN)/selectivity demo --out demo-output

test: system-deps $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e '.[all,dev]'
	@touch $(STAMP)

# Debian/Ubuntu: install what is missing when running as root, else print the apt line.
system-deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "Not a Debian-like system: skipping the apt check (see README for your platform)."; \
		exit 0; \
	fi; \
	missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "Missing Debian packages. Run:"; \
		echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
		exit 1; \
	fi

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache
