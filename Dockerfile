# The same release build as `cargo run --release`, in a slim runtime image.
FROM rust:1.95-bookworm AS build
# libpq for the PostgreSQL backend (SQLite is compiled in).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Everything the manifest needs: cargo reads every target it declares (the
# [[bench]] targets too) before it builds any, build.rs runs first, and the
# migrations are embedded in the binary. `.ci/check-docker` checks this list
# against Cargo.toml.
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
RUN cargo build --release --locked \
    && strip target/release/lophoc

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/lophoc --create-home lophoc
COPY --from=build /src/target/release/lophoc /usr/local/bin/lophoc
USER lophoc
WORKDIR /var/lib/lophoc
ENV LOPHOC_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["lophoc", "healthcheck"]
ENTRYPOINT ["lophoc"]
CMD ["serve"]
