# syntax=docker/dockerfile:1
# One image for the whole suite; Kubernetes picks the process:
#   python -m alpr_<service> serve | migrate     python -m alpr_ingest purge
#   python -m alpr_audit checkpoint
# Build: docker build -t alpr-suite:dev .

FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Third-party dependencies first, from the lock alone, so source edits reuse this layer.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/
COPY services/access/pyproject.toml services/access/
COPY services/audit/pyproject.toml services/audit/
COPY services/hotlist/pyproject.toml services/hotlist/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/sharing/pyproject.toml services/sharing/
COPY gateway/pyproject.toml gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# Then the workspace members. They stay editable: each service finds its migrations/ next to
# its package in the source tree.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && python -m compileall -q libs services gateway

FROM python:3.11-slim
# tzdata: settings name IANA zones (the login digest's America/Chicago) and the slim image
# may lack the zone files. Files stay owned by root: the process reads its code, never writes it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 alpr \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp alpr
COPY --from=build /app /app
WORKDIR /app
# Bytecode was compiled at build time; the root filesystem is read-only at run time, only /tmp
# and the mounted volumes are writable.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "alpr_gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
