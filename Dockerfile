# The sms-gateway image: `webui run` (service web) and `gatewayd run` (service gatewayd).
# Build: docker-compose -f docker-compose.prod.yml build
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/sms-gateway/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gatewayd ./gatewayd
COPY webui ./webui
RUN /opt/sms-gateway/venv/bin/pip install .

FROM python:3.11-slim
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
