# Suifang: `make serve` sets everything up and starts the service with demo data;
# `make test` sets everything up and runs the test suite. Both work on a fresh machine.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
APT_PACKAGES := espeak-ng ffmpeg sox chromium chromium-driver fonts-noto-cjk kamailio baresip-core sip-tester
# llama.cpp's default build is -march=native: on a CPU that reports AMX (Sapphire Rapids and later) it
# uses AMX tiles, which many VMs do not enable, and the first decode segfaults. Build it once for
# AVX2 (every x86-64 server of the last decade) into a wheel kept outside the checkout, never from
# pip's wheel cache (that may hold a native build).
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS ?= $(HOME)/.cache/suifang/wheels/llama-cpp-$(LLAMA_VERSION)-avx2
# Kokoro's voices ship in the npm package kokoro-js; its tarball is kept outside the checkout and
# `suifang models prepare` extracts the configured voices from it, checking each one's SHA-256.
KOKORO_JS := kokoro-js@1.2.1
KOKORO_JS_TGZ ?= $(HOME)/.cache/suifang/npm/kokoro-js-1.2.1.tgz
# Smart Turn v3.2 (end of turn) ships inside the pipecat-ai wheel; only its ONNX file is used: the wheel
# is kept outside the checkout (never installed) and `suifang models prepare` extracts the file, checking its SHA-256.
PIPECAT := pipecat-ai==1.14.0
PIPECAT_WHEEL_DIR ?= $(HOME)/.cache/suifang/pip
PIPECAT_WHEEL := $(PIPECAT_WHEEL_DIR)/pipecat_ai-1.14.0-py3-none-any.whl

.PHONY: setup serve test test-fast system-packages bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(MAKE) system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	# The local CPU wheel; a bare `torch` requirement would pull several GB of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip wheel --quiet --no-cache-dir --no-deps \
	    --no-binary llama-cpp-python -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install --quiet $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/pip install --quiet -e '.[test]'
	# openai-whisper's triton dependency is CUDA-only; its real dependencies are in pyproject.
	$(BIN)/pip install --quiet --no-deps openai-whisper==20250625
	test -s $(KOKORO_JS_TGZ) || { tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(KOKORO_JS) >/dev/null) && \
	  mkdir -p $(dir $(KOKORO_JS_TGZ)) && mv $$tmp/kokoro-js-1.2.1.tgz $(KOKORO_JS_TGZ) && rmdir $$tmp; }
	test -s $(PIPECAT_WHEEL) || $(BIN)/pip download --quiet --no-deps --only-binary :all: -d $(PIPECAT_WHEEL_DIR) $(PIPECAT)
	SUIFANG__MODELS__TTS__KOKORO__VOICES_ARCHIVE=$(KOKORO_JS_TGZ) SUIFANG__MODELS__TURN__WHEEL=$(PIPECAT_WHEEL) \
	  $(BIN)/suifang models prepare
	touch $(STAMP)

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

serve: setup
	$(BIN)/suifang demo
	$(BIN)/suifang serve

test: setup
	$(BIN)/pytest

# The fast lane while developing: no model-backed, browser or PostgreSQL tests (CI runs `make test`).
test-fast: setup
	$(BIN)/pytest -m "not models and not browser and not postgres and not fuzz" -x -q

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) var
