# Image of the sprigsync worker. It also contains the starter, so a run can be
# started inside the container:
#   docker compose exec worker starter -sync-id users -snapshot /snapshots/users.parquet
# deploy/compose_test.go checks the base images, the user and the entrypoint.

# go.mod requires Go 1.26.8 or later, and the golang image does not download
# newer toolchains (GOTOOLCHAIN=local).
FROM golang:1.26.8 AS build
WORKDIR /src

# Modules get their own layer, so editing the sources does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Static binaries, because the runtime image has no C library.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter

# The runtime image has no shell to create the state directory, so it is made
# here. Docker copies its owner into the named volume mounted on it the first
# time the volume is used, which lets the non-root worker write there.
RUN mkdir /out/state

# NOTE: the nonroot tag moves with Debian security updates. Pin it by digest
# where builds must be reproducible.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/state /var/lib/sprigsync
ENV SPRIGSYNC_STATE_DIR=/var/lib/sprigsync
# 65532 is the "nonroot" user of the distroless images.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/worker"]
