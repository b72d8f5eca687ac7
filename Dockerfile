# goal-rewriter, embedded engine: no key, no network at run time.
# The base is a build argument so an offline builder can point it at a locally imported Debian/Python image
# (.ci/build-image makes one with debootstrap and builds with buildah).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# The build stage installs into a venv; only the venv reaches the image (the package carries its prompts and
# data), not pip's build tree.
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
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
# torch's C++ unit tests and headers (about 145 MB) serve only its own tests and compiling extensions.
RUN python -m pip install -c constraints.txt . \
 && rm -rf /opt/venv/lib/python3.*/site-packages/torch/test \
           /opt/venv/lib/python3.*/site-packages/torch/include

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
