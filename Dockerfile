# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HUB_VAR_DIR=/var/lib/hub

WORKDIR /app
RUN useradd --system --create-home --home-dir /home/hub hub \
    && mkdir -p /var/lib/hub && chown hub /var/lib/hub

COPY pyproject.toml README.md ./
COPY config ./config
COPY hub ./hub
COPY crm ./crm
COPY channels_email ./channels_email
COPY channels_sms ./channels_sms
COPY channels_chat ./channels_chat
COPY inbox ./inbox
COPY consent ./consent
COPY locale ./locale
COPY templates ./templates
COPY manage.py Procfile ./
RUN pip install --no-cache-dir . \
    && DATABASE_URL=sqlite:////tmp/build.sqlite3 SECRET_KEY=build-only \
       python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

USER hub
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--forwarded-allow-ips", "*", "--lifespan", "off", "--no-server-header"]
