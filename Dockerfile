# The Store Weaver image: the binary (console and --serve), the built
# dashboard embedded in it, helm, and the store charts.
# It cannot be built on the development machines of this project (no
# container engine there); build it in CI or on a workstation with Docker:
#   docker build -t ghcr.io/example/store-weaver:0.1.0 .

# helm, built from source like the local sandbox does.
FROM golang:1.26-bookworm AS helm
ARG HELM_VERSION=3.22.0
RUN CGO_ENABLED=0 GOBIN=/out go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}" \
      helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}

# The dashboard's static files.
FROM node:20-bookworm AS dashboard
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci
COPY dashboard/ ./
RUN npm run build

# The binary, with the dashboard embedded.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
COPY migrations/ migrations/
COPY --from=dashboard /src/dashboard/dist dashboard/dist
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home store-weaver
COPY --from=helm /out/helm /usr/local/bin/helm
COPY --from=build /src/target/release/store-weaver /usr/local/bin/store-weaver
COPY charts/ /app/charts/
WORKDIR /app
USER 10001:10001
ENV STORE_WEAVER_CHARTS_DIR=/app/charts HOME=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/store-weaver"]
CMD ["--serve"]
