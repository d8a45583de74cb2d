# Keyward: the two commands are `make run` and `make test`.
.PHONY: run up down test build vet clean help docs

help:
	@echo "make run    fetch Keycloak if needed, start it with the dev realm, run Keyward (Ctrl-C stops both)"
	@echo "make test   every test, with a real Keycloak and a throw-away PostgreSQL"
	@echo "make up     the same stack in the background; make down stops it"
	@echo "make bench  Keyward vs Keycloak token endpoint, side by side (about 3 min)"
	@echo "make bench-scale  Keyward on a store of a million keys, exchanges, lists, audit (about 6 min)"
	@echo "make build  build bin/keyward"
	@echo "make docs   regenerate docs/reference (configuration, cli, api-endpoints, metrics, events) from the code"
	@echo "make image  build the container image from deploy/Containerfile (buildah or podman; scripts/image.sh)"
	@echo "make test-up / test-down  leave the test stack running for go test (see scripts/test.sh)"

run:
	@scripts/stack.sh run

up:
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

test:
	@scripts/test.sh

.PHONY: test-up test-down
test-up:
	@scripts/test.sh up

test-down:
	@scripts/test.sh down

build:
	go build -o bin/keyward ./cmd/keyward

# The generated references (docs/reference); docs/generated_test.go fails when one is stale.
docs:
	go run ./internal/docgen/cmd/docgen

vet:
	gofmt -l . && go vet ./...

clean:
	rm -rf bin keyward-data

# Keyward's exchange vs Keycloak's token endpoint (docs/operating/performance.md); ≤ 3 min.
.PHONY: bench
bench:
	@scripts/bench.sh

# Keyward on a million keys (docs/operating/performance.md); ≤ 10 min, all its own, on loopback.
.PHONY: bench-scale
bench-scale:
	@scripts/bench-scale.sh

# Keyward's container image (docs/operating/deploying.md): static binary FROM scratch.
.PHONY: image
image:
	@scripts/image.sh
