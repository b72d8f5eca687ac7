# goal-rewriter, embedded engine: no key, no network at run time.
# The base is a build argument so an offline builder can point it at a locally imported Debian/Python image
# (.ci/build-image makes one with debootstrap and builds with buildah).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# Three stages. The export stage installs torch and the project's torch extra, and exports the model to ONNX
# with the vectors every start needs. The build stage installs the project without that extra into a venv,
# carrying the export as package data. The image takes that venv only: no torch, no CUDA libraries, no
# sentence-transformers, no pip build tree.
FROM ${BASE_IMAGE} AS export
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
RUN python -m venv /opt/export
ENV PATH=/opt/export/bin:$PATH
WORKDIR /src
# Same order as the Makefile: the CPU build of torch first, then the project under the known-good constraints.
# A builder that cannot reach this index passes another and mounts a pip.conf naming wheels it holds
# (.ci/build-image does, with the CPU wheel lying on disk); the mount is not part of the image.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN python -m pip install --upgrade pip \
 && python -m pip install --index-url ${TORCH_INDEX} --extra-index-url https://pypi.org/simple torch==2.13.0
COPY pyproject.toml constraints.txt README.md ./
# service/prompts links to prompts/, so both are copied; the eval suite is not part of the runtime.
COPY prompts/ prompts/
COPY service/ service/
RUN python -m pip install -c constraints.txt '.[torch]' \
 && goal-rewriter export --out service/data/encoder

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# strip, for the debug symbols below; this stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY --from=export /src/pyproject.toml /src/constraints.txt /src/README.md ./
COPY --from=export /src/prompts/ prompts/
COPY --from=export /src/service/ service/
# What a server never runs leaves the venv: pip and setuptools, the hub's download accelerator (tokenizers
# reads a local file), the packages' own test suites, C and Cython sources and type stubs, and the debug
# symbols of compiled modules (spaCy's alone are 100 MB). Libraries that auditwheel bundled (*.libs) are
# left as they were built.
RUN python -m pip install --upgrade pip \
 && python -m pip install -c constraints.txt . \
 && test -f /opt/venv/lib/python3.*/site-packages/service/data/encoder/model.onnx.data \
 && python -m pip uninstall -y hf-xet setuptools pip \
 && find /opt/venv -depth -type d -name tests -exec rm -rf {} + \
 && find /opt/venv -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pyi' -o -name '*.c' -o -name '*.cpp' \
         -o -name '*.h' \) -delete \
 && find /opt/venv -name '*.so' -not -path '*.libs/*' -exec strip --strip-unneeded {} +

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GOAL_HOST=0.0.0.0 \
    GOAL_PORT=8000
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The default SQLite store lives in ./var: the one folder the server writes, so the one the user owns.
RUN useradd --create-home --uid 10001 goal \
 && mkdir var \
 && chown goal:goal var

USER goal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
# Exec form: the server is PID 1 and gets the runtime's SIGTERM itself, and drains.
CMD ["goal-rewriter", "serve"]
