# The klue demo (specs/petstore.yaml and specs/gateway.yaml) as a container:
#
#     docker build -t klue-demo .
#     docker run --rm -p 8080:8080 -v klue-data:/data klue-demo
#
# README.rst ("Running in production") explains each step;
# tests/integration/test_dockerfile.py replays them without a Docker engine.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# klue first: this layer is rebuilt only when klue itself changes.
COPY pyproject.toml README.rst LICENSE ./
COPY klue/ klue/
RUN pip install '.[docs,serve]'

# The service: its specs and handlers.
COPY specs/ specs/
COPY examples/ examples/

# Never root; the SQLite database lives in a volume.
RUN useradd --system --uid 10001 --no-create-home klue && mkdir /data && chown klue /data
USER klue
ENV PETSTORE_DB=/data/petstore.sqlite3
VOLUME /data

EXPOSE 8080
# /ready answers 200 once the app is built; the orchestrator stops sending traffic on a 503.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ready', timeout=2)"]
# docker stop sends SIGTERM: klue serve stops accepting, answers the requests in flight, exits 0.
STOPSIGNAL SIGTERM
# 0.0.0.0 inside the container only; publish the port on the host's 127.0.0.1 or behind a proxy.
CMD ["klue", "serve", "specs/petstore.yaml", "specs/gateway.yaml", "--host", "0.0.0.0", "--port", "8080"]
