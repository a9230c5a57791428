# todo-api on Debian's Python 3.11, with the versions of requirements.lock.
#   docker build -t todo-api .          (podman: podman build --format docker -t todo-api .,
#                                        since OCI images have no HEALTHCHECK)
#   docker run -p 8000:8000 -v todo-data:/data todo-api
# Behind a proxy that inspects TLS, hand the build its CA bundle as a secret (it is used while
# installing only and is not in the image):
#   docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t todo-api .
# A package index other than PyPI: --build-arg PIP_INDEX_URL=https://...
ARG BASE=debian:bookworm-slim
FROM ${BASE}

ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_EXTRA_INDEX_URL=

# Debian's Python (3.11 on bookworm) and venv; nothing else.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# The dependencies first (their layer outlives changes to the code), each checked against the
# lock file's hashes, as wheels only but http-ece (pywebpush's encryption, one pure-Python
# module published as a source archive only); then the project itself, not editable, migrations
# included.
WORKDIR /build
COPY requirements.lock ./
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && python3 -m venv /opt/todo-api \
    && PIP_INDEX_URL="$PIP_INDEX_URL" PIP_EXTRA_INDEX_URL="$PIP_EXTRA_INDEX_URL" \
       /opt/todo-api/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes --only-binary=:all: --no-binary=http-ece -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && PIP_INDEX_URL="$PIP_INDEX_URL" PIP_EXTRA_INDEX_URL="$PIP_EXTRA_INDEX_URL" \
       /opt/todo-api/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps . \
    && cd / && rm -rf /build

# A user other than root, owning only /data (the SQLite file and the development secret live
# there when DATABASE_URL is unset). The root file system may be mounted read-only: the
# service writes nothing but /data and /tmp.
RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin todo \
    && mkdir -p /data && chown todo:todo /data
VOLUME /data
WORKDIR /data

ENV PATH=/opt/todo-api/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    PORT=8000
USER todo:todo
EXPOSE 8000

# Ready: the database answers and its schema is at the latest migration.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PORT', '8000'), timeout=4)"]

# SIGTERM: /ready turns 503, requests under way finish (SHUTDOWN_GRACE_SECONDS), exit 0.
STOPSIGNAL SIGTERM
CMD ["todo-api", "serve", "--host", "0.0.0.0"]
