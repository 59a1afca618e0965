# rootly-chatops container image (docs/deployment.md).
#
#   docker build -t rootly-bot .
#   docker run --env-file .env -p 3000:3000 -v rootly-bot-data:/data rootly-bot
#
# HTTP mode listens on PORT (3000); put a TLS-terminating proxy in front and point the Slack app's URLs
# (manifest.yml, YOUR-BOT-HOST) at it. Socket Mode (SLACK_APP_TOKEN set) needs no published port; its Prometheus
# metrics are on METRICS_PORT (9464). State is a SQLite file in the /data volume unless DATABASE_URL points
# elsewhere (PostgreSQL for replicas: docker-compose.yml, deploy/kubernetes/).

# ---- builder: the bot's virtual environment, from the lock file ---------------------------------------------------
FROM python:3.11-slim AS builder

WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY deploy/install.sh ./deploy/install.sh
# Dependencies pinned and hash-checked from requirements.lock (wheels only: nothing is compiled), then the bot without
# dependencies, into /opt/venv, which has no pip. tests/test_container.py runs the same script in a clean directory.
RUN PYTHON=python sh deploy/install.sh /opt/venv /src

# ---- runtime: the virtual environment and nothing else ------------------------------------------------------------
FROM python:3.11-slim

RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home --shell /usr/sbin/nologin bot \
 && mkdir -p /data \
 && chown bot:bot /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/rootly-bot.db \
    PORT=3000

# Declared after the chown so a new volume starts out owned by the bot user.
VOLUME ["/data"]
EXPOSE 3000

USER bot

# HTTP mode: GET http://127.0.0.1:$PORT/healthz must answer 200. Socket Mode has no HTTP server: the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-m", "bot.ops.healthcheck"]

CMD ["rootly-bot", "run"]
