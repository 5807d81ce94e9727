# syntax=docker/dockerfile:1
#
# The testbed as a container image: `ntjp serve` with its state (PKI, journal, endpoints.json)
# on the volume /var/lib/ntjp, every listener on all interfaces. See README, "Container".
#
#   podman build -t ntjp-testbed .        (or docker build; about 10 minutes on 2 cores)
#   podman run --rm -p 20000:20000 -p 24000:24000 -v ntjp-state:/var/lib/ntjp ntjp-testbed

# --- build: the release binary ------------------------------------------------------------
FROM docker.io/library/rust:1-slim-bookworm AS build
# jemalloc's build needs make; aws-lc (rustls' crypto) builds with the image's C compiler
# and cmake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep the crates and compiled dependencies between builds (BuildKit and
# podman/buildah); the binary is copied out of the cached target/ in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ntjp \
 && cp target/release/ntjp /usr/local/bin/ntjp

# --- run: Debian's slim image, the binary, an unprivileged user ------------------------------
FROM docker.io/library/debian:bookworm-slim
# /etc/ntjp/pki: where several nodes share one PKI (compose.cluster.yaml mounts a volume there,
# which takes the directory's owner; deploy/kubernetes a Secret).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/ntjp --shell /usr/sbin/nologin ntjp \
 && mkdir -p /var/lib/ntjp /etc/ntjp/pki \
 && chown ntjp:ntjp /var/lib/ntjp /etc/ntjp/pki
COPY --from=build /usr/local/bin/ntjp /usr/local/bin/ntjp
# Every listener on all interfaces of the container (the defaults are loopback only); the
# state directory on the volume. Port numbers are the defaults, published as they are.
ENV NTJP_STATE_DIR=/var/lib/ntjp \
    NTJP_ADMIN=0.0.0.0:24000 \
    NTJP_MOCKS=0.0.0.0:25000 \
    NTJP_ENVIRONMENTS__SIT__HTTPS=0.0.0.0:20000 \
    NTJP_ENVIRONMENTS__SIT__HTTP=0.0.0.0:20080 \
    NTJP_ENVIRONMENTS__QA__HTTPS=0.0.0.0:21000 \
    NTJP_ENVIRONMENTS__QA__HTTP=0.0.0.0:21080 \
    NTJP_ENVIRONMENTS__PROD__HTTPS=0.0.0.0:22000 \
    NTJP_ENVIRONMENTS__PROD__HTTP=0.0.0.0:22080
# SIT, QA and PROD routers (HTTPS with mutual TLS; plain HTTP for whitelisted peers), the
# admin API (health, status, orders, clock), the mock producers (HTTPS).
EXPOSE 20000 20080 21000 21080 22000 22080 24000 25000
VOLUME ["/var/lib/ntjp"]
USER ntjp
WORKDIR /var/lib/ntjp
# Ready when every environment has a published TAK and a clock (bash's /dev/tcp: the image
# has no curl). /health/... needs no Host check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/24000 && printf 'GET /health/ready HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && read -r status <&3 && [[ $status == *' 200 '* ]]"]
ENTRYPOINT ["ntjp"]
CMD ["serve"]
