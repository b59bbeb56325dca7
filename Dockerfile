# The sms-gateway image: `webui run` (service web), `gatewayd run` (service gatewayd) and the
# log rotation (service logrotate). Build: docker-compose -f docker-compose.prod.yml build
#
# Reproducible: the base image is an exact tag (scripts/pin-images.sh adds its digest); uv
# comes from scripts/uv-requirements.txt and every Python package from uv.lock, hashes
# checked; the project's own wheel is built with a build backend pinned by hash
# (docker/build-constraints.txt). Only the runtime dependencies are installed (no extras).
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/opt/sms-gateway/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src
COPY scripts/uv-requirements.txt scripts/uv-requirements.txt
RUN pip install --require-hashes --only-binary=:all: --target /opt/uv \
        -r scripts/uv-requirements.txt
# the locked runtime dependencies first: this layer is rebuilt only when the lock changes
COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv sync --locked --no-editable --no-install-project
COPY README.md ./
COPY docker/build-constraints.txt docker/build-constraints.txt
COPY gatewayd ./gatewayd
COPY webui ./webui
# `uv sync` would build the project with whatever setuptools the index serves that day;
# build the wheel with the pinned backend instead, install it beside its locked dependencies
# (--no-deps: nothing else may come in) and check that they fit.
RUN /opt/uv/bin/uv build --wheel --build-constraints docker/build-constraints.txt \
        --require-hashes --out-dir /tmp/dist \
    && /opt/uv/bin/uv pip install --python /opt/sms-gateway/venv/bin/python --no-deps \
        /tmp/dist/sms_gateway-*.whl \
    && /opt/uv/bin/uv pip check --python /opt/sms-gateway/venv/bin/python

FROM python:3.11.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/usr/local/lib/sms-gateway/bin:/opt/sms-gateway/venv/bin:$PATH \
    SMSGW_DATA_DIR=/app/data
# logrotate: `docker-compose exec web logrotate /etc/logrotate.conf`; procps: `exec web ps aux`;
# curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends logrotate procps curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 1000 smsgw \
    && useradd --system --uid 1000 --gid smsgw --groups dialout \
       --home-dir /app --no-create-home --shell /usr/sbin/nologin smsgw \
    && mkdir -p /app/logs /app/data \
    && chown smsgw:smsgw /app/logs /app/data
COPY --from=build /opt/sms-gateway/venv /opt/sms-gateway/venv
COPY docker/logrotate.conf /etc/logrotate.d/sms-gateway
COPY docker/logrotate-nginx.conf /etc/logrotate.d/sms-gateway-nginx
COPY docker/logrotate-loop.sh /usr/local/lib/sms-gateway/logrotate-loop
COPY docker/entrypoint.sh /usr/local/bin/sms-gateway-entrypoint
COPY docker/flask-shim.sh /usr/local/bin/flask
COPY docker/command-wrapper.sh /usr/local/lib/sms-gateway/bin/webui
COPY docker/command-wrapper.sh /usr/local/lib/sms-gateway/bin/gatewayd
RUN chmod 0644 /etc/logrotate.d/sms-gateway /etc/logrotate.d/sms-gateway-nginx \
    && chmod 0755 /usr/local/bin/sms-gateway-entrypoint /usr/local/bin/flask \
       /usr/local/lib/sms-gateway/logrotate-loop \
       /usr/local/lib/sms-gateway/bin/webui /usr/local/lib/sms-gateway/bin/gatewayd
WORKDIR /app
EXPOSE 8080
# The entrypoint starts as root only to make the bind-mounted ./logs writable, then drops to
# smsgw. `docker-compose exec` starts commands as root: `webui`, `gatewayd` (and the `flask`
# alias) switch to smsgw themselves (docker/command-wrapper.sh); logrotate and ps stay root.
ENTRYPOINT ["sms-gateway-entrypoint"]
CMD ["webui", "run"]
