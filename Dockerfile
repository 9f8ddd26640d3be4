# The auth server under granian (serve.py), as an unprivileged user. Build: docker build -t auth-server .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/auth

# The runtime only: the test and lint tools are in requirements-dev.txt, which the image never reads.
COPY requirements.txt ./
RUN python -m pip install -r requirements.txt

# Only the server's code; .dockerignore keeps .env, tests and local files out of the image.
COPY app ./app
COPY config.py wsgi.py serve.py gunicorn.conf.py ./

# A user with no password, no shell and no write access to the code.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin auth
USER auth

# PRODUCTION_IMAGE: an empty APP_ENV (an --env-file that says `APP_ENV=`) means production here,
# and any other APP_ENV refuses to start unless ALLOW_NON_PRODUCTION=true says it is meant.
ENV APP_ENV=production \
    PRODUCTION_IMAGE=true \
    PORT=1140
EXPOSE 1140

HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '1140'), timeout=2)"]

# The operator's commands: `docker compose run --rm auth flask users ...` (docs/operations.md).
ENV FLASK_APP=wsgi

# granian: measured fastest for guarded requests (bench/README.md). The contract's gunicorn
# command works in this image too: docker run ... auth-server gunicorn -c gunicorn.conf.py wsgi:app
CMD ["python", "serve.py"]
