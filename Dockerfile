# goal-rewriter, embedded engine: no key, no network at run time.
# The base is a build argument so an offline builder can point it at a locally imported Debian/Python image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GOAL_HOST=0.0.0.0 \
    GOAL_PORT=8000 \
    GOAL_PROMPTS_DIR=/app/prompts

WORKDIR /app
# Same order as the Makefile: the CPU build of torch first, then the project under the known-good constraints.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN python -m pip install --upgrade pip \
 && python -m pip install --index-url ${TORCH_INDEX} --extra-index-url https://pypi.org/simple torch==2.13.0
COPY pyproject.toml constraints.txt README.md ./
COPY service/ service/
COPY evals/ evals/
COPY prompts/ prompts/
RUN python -m pip install -c constraints.txt . \
 && useradd --create-home --uid 10001 goal

USER goal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
CMD ["goal-rewriter", "serve"]
