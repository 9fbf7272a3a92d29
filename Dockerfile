# The publish-action image: one virtual environment with the hash-locked dependencies, the action's own
# code, on a slim Python base, and nothing else.
#
# BASE is pinned by digest so a rebuild of the same commit starts from the same bytes. Source of this digest:
# the one BuildKit resolved for docker.io/library/python:3.12-slim in a public build log of autumn 2026
# ("resolve docker.io/library/python:3.12-slim@sha256:78387bc3…"), also pinned as the tag's digest by several
# public Dockerfiles of that time; our machines cannot reach Docker Hub to resolve it themselves. Bump it (and
# PUBLISH_ACTION_BASE_IMAGE in .github/workflows/ci.yml, a test keeps them equal) with a CI run. Offline
# machines pass --build-arg BASE=publish-action-base:local (scripts/e2e-setup makes it with debootstrap).
ARG BASE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

FROM ${BASE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
# build-ca.pem exists only in build contexts made by scripts/e2e-setup, where outbound TLS goes through an
# inspecting proxy; the [m] glob keeps this COPY valid when it is absent. It never leaves this stage.
COPY requirements.lock build-ca.pe[m] /build/
RUN set -eu; \
    if [ -f /build/build-ca.pem ]; then export PIP_CERT=/build/build-ca.pem; fi; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: -r /build/requirements.lock
# Our own code is copied, not built: a build backend would be the one thing installed without a hash pin.
# A .pth file puts it on the venv's path. pip (and the setuptools that venvs of Python < 3.12 start with) go
# afterwards: nothing at run time installs anything. So does what the program never loads: type stubs, C and
# Cython sources, and test suites shipped inside wheels.
COPY src/publish_action /opt/publish-action/src/publish_action
RUN set -eu; \
    purelib="$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"; \
    echo /opt/publish-action/src > "$purelib/publish_action.pth"; \
    /opt/venv/bin/pip uninstall --yes setuptools pip; \
    find /opt/venv/lib -depth \( -name '*.pyi' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.c' -o -name '*.h' \
        -o \( -type d \( -name tests -o -name test \) \) \) -exec rm -rf {} +; \
    /opt/venv/bin/python -m compileall -q /opt/venv/lib /opt/publish-action/src >/dev/null; \
    /opt/venv/bin/python -m publish_action --help >/dev/null

FROM ${BASE}
LABEL org.opencontainers.image.title="publish-action" \
      org.opencontainers.image.description="Publish Python distributions with Trusted Publishing and PEP 740 attestations" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/publish-action /opt/publish-action
# PYTHONUNBUFFERED keeps our lines in order with docker's own in the job log. HOME=/tmp because action.yml
# runs the container as the runner's uid, which has no home directory in this image, and sigstore keeps its
# trust-root cache under the home directory.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/opt/venv/bin/python", "-m", "publish_action"]
