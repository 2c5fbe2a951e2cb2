# Build: docker build -t supportnavi .
# Run:   docker run -p 8000:8000 -e LINE_CHANNEL_SECRET=... -e LINE_CHANNEL_ACCESS_TOKEN=... \
#          -e DATABASE_URL=postgresql+asyncpg://... supportnavi
# The image serves a real channel: without both LINE credentials it refuses to start (exit 2).
# The simulator is for a developer's machine (`make run`); it has no login, so it would refuse
# this image's HOST=0.0.0.0 too, unless SUPPORTNAVI_SIMULATOR_PUBLIC=true says otherwise.
# (No Docker engine runs on the development machines: tests/ops/test_dockerfile.py lints this
# file with hadolint and runs the image's command as a plain process, laid out as below.)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY linebot ./linebot
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
# a numeric uid: Kubernetes' runAsNonRoot can check it without the image's /etc/passwd
RUN useradd --create-home --uid 10001 supportnavi
WORKDIR /app
COPY --from=build /venv /venv
COPY alembic.ini ./
COPY db ./db
COPY scenarios ./scenarios
RUN mkdir -p /app/var && chown 10001 /app/var
USER 10001
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    SUPPORTNAVI_ROOT=/app \
    SUPPORTNAVI_SCENARIOS=/app/scenarios
EXPOSE 8000
# follows $PORT: the check asks the server where `serve` put it
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["supportnavi", "healthcheck"]
# serve runs the migrations before it accepts requests
CMD ["supportnavi", "serve"]
