# easel: a static Go binary on a distroless, non-root base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t easel .
#
# No "# syntax=" line, on purpose: it makes BuildKit pull the docker/dockerfile
# frontend image before anything else, which fails on a machine that reaches no
# registry (the local cluster's; see docs/local-cluster.md). Everything used
# here, RUN --mount=type=cache included, is in the frontend built into BuildKit
# since Docker 20.10, so the build is the same with or without network.
#
# The go build line uses exactly the flags of the Makefile's build target
# (GO_BUILD_FLAGS, LDFLAGS); test/docker checks that the two agree.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X github.com/easelhq/easel/internal/version.Version=${VERSION}" -o /out/easel ./cmd/easel

# distroless/static: no shell, no package manager, CA certificates and tzdata only.
# The :nonroot tag's user is 65532; it is repeated numerically so that Kubernetes'
# runAsNonRoot can verify it without resolving a user name.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/easel /easel
USER 65532:65532
EXPOSE 8080
# Nothing is written to the root filesystem: it can be mounted read-only
# (uploads are parsed in memory within the body limit; the chart still mounts
# an emptyDir at /tmp for anything that wants a scratch file).
ENTRYPOINT ["/easel"]
CMD ["serve"]
