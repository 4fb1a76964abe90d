# The Store Weaver image: the binary (console and --serve), the built
# dashboard embedded in it, helm, and the store charts.
#   docker build -t ghcr.io/example/store-weaver:0.1.0 .
#
# Every COPY below is a line of Dockerfile.inputs, the one list of what each
# stage copies (change both together). tests/image_inputs.rs checks that the
# two agree and runs each build stage's RUN lines on exactly those inputs, so
# a file the build needs that no COPY brings fails there, not in a Docker
# build. The project's own machines have no container engine:
# scripts/build-images.sh builds the sandbox's copy of this image
# (localhost/sandbox/store-weaver) from the same list and the same stages run
# on the machine, on Debian bookworm packages (docs/sandbox.md, "Images").

# helm, built from source with the version and flags the sandbox's helm has
# (scripts/build-tools.sh): the Kubernetes version stamped in, else offline
# `helm lint`/`template` assume v1.20 and refuse charts with a kubeVersion.
FROM golang:1.26-bookworm AS helm
ARG HELM_VERSION=3.22.0
ARG K8S_MINOR=37
WORKDIR /src
RUN CGO_ENABLED=0 GOBIN="$PWD/bin" go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION} \
        -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${K8S_MINOR} \
        -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${K8S_MINOR}" \
      helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}

# The dashboard's static files: `npm run build` checks the generated API
# types against openapi.json, type-checks, and bundles into dist/.
FROM node:20-bookworm AS dashboard
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci
COPY dashboard/index.html dashboard/openapi.json dashboard/tsconfig.json dashboard/vite.config.ts ./
COPY dashboard/public/ public/
COPY dashboard/scripts/ scripts/
COPY dashboard/src/ src/
RUN npm run build

# The binary, with the dashboard embedded. Cargo.toml names the bench
# target and build.rs, so both are inputs of a build that never runs them.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY benches/ benches/
COPY migrations/ migrations/
COPY src/ src/
COPY --from=dashboard /src/dashboard/dist/ dashboard/dist/
RUN cargo build --release --locked

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home store-weaver
COPY --from=helm /src/bin/helm /usr/local/bin/helm
COPY --from=build /src/target/release/store-weaver /usr/local/bin/store-weaver
COPY charts/ /app/charts/
WORKDIR /app
USER 10001:10001
ENV STORE_WEAVER_CHARTS_DIR=/app/charts HOME=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/store-weaver"]
CMD ["--serve"]
