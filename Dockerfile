# Build: docker build -t supportnavi .
# Run:   docker run -p 8000:8000 -e LINE_CHANNEL_SECRET=... -e LINE_CHANNEL_ACCESS_TOKEN=... \
#          -e DATABASE_URL=postgresql+asyncpg://... supportnavi
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY linebot ./linebot
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 supportnavi
WORKDIR /app
COPY --from=build /venv /venv
COPY alembic.ini ./
COPY db ./db
COPY scenarios ./scenarios
RUN mkdir -p /app/var && chown supportnavi /app/var
USER supportnavi
ENV PATH=/venv/bin:$PATH HOST=0.0.0.0 PORT=8000 \
    SUPPORTNAVI_SCENARIOS=/app/scenarios SUPPORTNAVI_ROOT=/app
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
# serve runs the migrations before it accepts requests
CMD ["supportnavi", "serve"]
