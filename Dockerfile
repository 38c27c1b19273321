# HMA in a container: `docker build -t hma .` (docs/deploy.md, "Containers").
# Stage 1 builds the two binaries (Swift runtime linked statically) and the
# web IDE; stage 2 is a slim Debian with what they load at run time.

FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      libsqlite3-dev libgit2-dev libssl-dev libseccomp-dev pkg-config \
      nodejs python3 python3-pip ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --static-swift-stdlib --product hma \
    && swift build -c release --static-swift-stdlib --product hma-git \
    && scripts/build-frontend.sh \
    && mkdir -p /out/bin /out/share/hma \
    && cp "$(swift build -c release --show-bin-path)/hma" "$(swift build -c release --show-bin-path)/hma-git" /out/bin/ \
    && cp -r frontend/dist /out/share/hma/frontend

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libsqlite3-0 libgit2-1.5 libssl3 libseccomp2 bubblewrap git ca-certificates openssl tini \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/hma/ /usr/local/share/hma/
# Projects run in bwrap sandboxes as their own uids: the data dir lives
# where those uids can pass (docs/workspace.md).
ENV HMA_DATA_DIR=/var/lib/hma \
    HMA_HTTP_FRONTEND=/usr/local/share/hma/frontend
VOLUME ["/var/lib/hma"]
# 8080: the web IDE and API (gateway); 7420: the mesh (mutual TLS).
EXPOSE 8080 7420
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/hma"]
CMD ["--help"]
