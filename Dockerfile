# One image for every Dripstone process: `dripstone api`, `dripstone worker` and the
# once-per-release `dripstone db migrate` (deploy/compose.yaml, deploy/kubernetes/).
# Build from the repository root:  docker build -t dripstone:latest .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The uv release toolchain/python.sh pins, so the image resolves nothing on its own:
# exactly what uv.lock says is installed.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, in a layer of their own: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev

FROM ${PYTHON_IMAGE} AS runtime
# Same base image as the build stage: the virtual environment points at its Python.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app dripstone
# Owned by root, so the code cannot be changed by the process running it; only the data
# folder (the SQLite fallback and its key file, unused with DATABASE_URL) is writable.
COPY --from=build --chown=root:root /app /app
RUN mkdir -p /app/data && chown dripstone:dripstone /app/data
WORKDIR /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DRIPSTONE_DATA_DIR=/app/data \
    DRIPSTONE_LOG_FORMAT=json
USER 10001
# 8000: the API (dripstone api --port 8000); 8081: the worker's probes and /metrics
# (DRIPSTONE_WORKER_HEALTH_PORT); 9464: the Temporal SDK's metrics (DRIPSTONE_TEMPORAL_METRICS_PORT).
EXPOSE 8000 8081 9464
ENTRYPOINT ["dripstone"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
