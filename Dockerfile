# rootly-chatops container image.
#
#   docker build -t rootly-bot .
#   docker run --env-file .env -p 3000:3000 -v rootly-bot-data:/data rootly-bot
#
# HTTP mode listens on PORT (3000); put a TLS-terminating proxy in front and point the Slack app's URLs
# (manifest.yml, YOUR-BOT-HOST) at it. Socket Mode (SLACK_APP_TOKEN set) needs no published port.
# State is a SQLite file in the /data volume unless DATABASE_URL points elsewhere (PostgreSQL for replicas).

# ---- builder: turn the source tree into a wheel -------------------------------------------------------------------
FROM python:3.11-slim AS builder

WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels .

# ---- runtime: only the installed wheel and its dependencies ------------------------------------------------------
FROM python:3.11-slim

RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home --shell /usr/sbin/nologin bot \
 && mkdir -p /data \
 && chown bot:bot /data

COPY --from=builder /wheels /tmp/wheels
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels

WORKDIR /app
ENV PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/rootly-bot.db \
    PORT=3000

# Declared after the chown so a new volume starts out owned by the bot user.
VOLUME ["/data"]
EXPOSE 3000

USER bot

# HTTP mode: GET http://127.0.0.1:$PORT/healthz must answer 200. Socket Mode has no HTTP server: the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-m", "bot.healthcheck"]

CMD ["rootly-bot", "run"]
