# Quickstart targets for a fresh Debian machine with Go, as root.
# `make run` and `make test` install what is missing first.

GO  ?= go
BIN := bin/clusterbench

# Debian packages the modes and tests need, as "command:package". The
# kernel-level modes need nothing more; iptables, nginx and haproxy need their programs, the wrk
# load generator its own, and the
# tests take namespaces away with unshare and setpriv (util-linux).
SYSTEM_DEPS := node:nodejs python3:python3 iptables-restore:iptables unshare:util-linux setpriv:util-linux nginx:nginx haproxy:haproxy wrk:wrk
# The tests also open report.html in a headless Chromium, and join network
# namespaces into a LAN of load hosts with ip and nsenter; a run needs
# neither, so only `make test` installs them.
TEST_DEPS := chromium:chromium ip:iproute2 nsenter:util-linux

.PHONY: run quick test build deps test-deps clean

run: deps build
	$(BIN) run scenarios/all.yaml

quick: deps build
	$(BIN) run scenarios/quick.yaml

# -buildvcs=auto records the commit the run's results.json names as the
# tool's version, even where GOFLAGS turns that off.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/clusterbench

# Packages are tested one at a time (-p 1): the tests measure real servers
# on few cores, and two packages measuring at once would measure each other.
# The end-to-end tests of cmd/clusterbench run the tool, its trial child,
# serve and every worker as real processes. Under the race detector each of
# them runs three times slower (17 minutes against 6), so they run without
# it, except one run and one serve; the packages they drive are tested with
# it (modes deploys real workers in-process).
PACKAGES = $(shell $(GO) list ./... | grep -v '/cmd/clusterbench$$')
test: deps test-deps
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -p 1 -timeout 30m $(PACKAGES)
	$(GO) test -count=1 -timeout 30m ./cmd/clusterbench
	$(GO) test -race -count=1 -run 'TestRunEndToEnd$$|TestServeCountsAndJSON$$' ./cmd/clusterbench
	@# The report tests over every committed reference run (byte-for-byte re-rendering, the answer,
	@# the terminal, the plots' titles) skip under -race, which makes them 20x slower: here they run.
	$(GO) test -count=1 ./report

# deps installs missing Debian packages (apt-get update runs once, only if
# something is missing) and the Go modules.
deps:
	@$(call install,$(SYSTEM_DEPS))
	$(GO) mod download

test-deps:
	@$(call install,$(TEST_DEPS))

# install installs the packages of a list of "command:package" whose
# command is missing.
define install
missing=""; for dep in $(1); do \
	command -v "$${dep%%:*}" >/dev/null 2>&1 || missing="$$missing $${dep#*:}"; \
done; \
if [ -n "$$missing" ]; then \
	echo "installing:$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
fi
endef

clean:
	rm -rf bin
