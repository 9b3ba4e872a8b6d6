# whatmatters: a slim image that runs the bot as a non-root user, with the database on a volume
# (or on PostgreSQL: WHATMATTERS_DATABASE=postgresql://…; asyncpg installs from a wheel).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WHATMATTERS_DATABASE=/data/whatmatters.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY conversations ./conversations
COPY storage ./storage
COPY insights ./insights
COPY services ./services
COPY web ./web
RUN pip install . \
    && useradd --system --create-home --uid 10001 whatmatters \
    && mkdir -p /data \
    && chown whatmatters /data

USER whatmatters
VOLUME ["/data"]
CMD ["whatmatters", "run"]
