# Fraud scoring service — common tasks.
#
#   make run          install what is missing, build (release), start PostgreSQL + the server, replay the
#                     bundled PaySim sample through it, print a summary, keep serving until Ctrl-C
#   make test         install what is missing, build, run every test (Swift unit tests + Python grpcio tests)
#   make deps         only the installs (Debian packages, .venv/ with grpcio)
#   make build        debug build          make release    release build
#   make test-swift   Swift tests only     make test-python   grpcio tests only (needs a debug build)
#   make proto        regenerate Sources/CFraudProto with protoc-c
#   make check-proto  fail when the committed protoc-c output is stale
#   make pg-start / pg-stop    the project-local PostgreSQL (var/pg, 127.0.0.1:55432)
#   make bench        release build, server + PostgreSQL, fraud-loadgen at several rates + capacity, h2load check
#   make bench-core   the risk engine alone (10 M accounts)   make bench-anchors   fraud-server vs the reference servers
#   make bench-admin  a million stored decisions: summary latency; Score p99 without / with an open dashboard
#   make bench-tls    Score throughput over TLS + JWT vs cleartext without auth, same run
#   make clean
SWIFT ?= swift
PYTHON ?= .venv/bin/python
PORT ?= 50051
SAMPLE ?= data/paysim_sample.csv
SERVER_FLAGS ?=
TLS ?= 0
AUTH ?= on

.PHONY: all deps build release test test-swift test-python proto check-proto run pg-start pg-stop bench bench-core bench-anchors bench-admin bench-tls clean

all: build

deps:
	@bash scripts/setup.sh

build: deps
	$(SWIFT) build --build-tests

release: deps
	$(SWIFT) build -c release

# Tests talk to the real project-local PostgreSQL: `scripts/pg.sh env` exports FRAUD_PG_URL, FRAUD_PG_HOST, ...
PG_ENV = eval "$$(bash scripts/pg.sh env)"

test: export FRAUD_SETUP_TEST = 1
test: build check-proto pg-start
	$(PG_ENV) && $(SWIFT) test --skip-build
	$(PG_ENV) && FRAUD_SERVER_BIN=.build/debug/fraud-server $(PYTHON) -m pytest -q Tests/python

test-swift: build pg-start
	$(PG_ENV) && $(SWIFT) test --skip-build

test-python: build pg-start
	$(PG_ENV) && FRAUD_SERVER_BIN=.build/debug/fraud-server $(PYTHON) -m pytest -q Tests/python

proto:
	bash scripts/gen-proto.sh

check-proto:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && bash scripts/gen-proto.sh $$tmp/out && \
	  if diff -r $$tmp/out Sources/CFraudProto --exclude=CFraudProto.h --exclude=module.modulemap >/dev/null; then \
	    echo "check-proto: Sources/CFraudProto is up to date"; \
	  else \
	    diff -r $$tmp/out Sources/CFraudProto --exclude=CFraudProto.h --exclude=module.modulemap | head -20; \
	    echo "check-proto: Sources/CFraudProto is stale: run 'make proto' and commit"; exit 1; \
	  fi

pg-start: deps
	@bash scripts/pg.sh start

pg-stop:
	@bash scripts/pg.sh stop

run: release pg-start
	@$(PG_ENV) && bash scripts/run.sh --port $(PORT) --sample $(SAMPLE) $(if $(filter 1,$(TLS)),--tls) --auth $(AUTH) -- --postgres-url "$$FRAUD_PG_URL" $(SERVER_FLAGS)

bench: release pg-start
	@$(PG_ENV) && bash scripts/bench.sh --postgres-url "$$FRAUD_PG_URL"

bench-admin: release pg-start
	@$(PG_ENV) && SKIP_BUILD=1 bash scripts/bench-admin.sh --postgres-url "$$FRAUD_PG_URL"

bench-tls: release
	SKIP_BUILD=1 bash scripts/bench-tls.sh

# BENCH_CORE_FLAGS: e.g. `--accounts 1000000 --count 500000` for a quicker run, `--model rules`.
BENCH_CORE_FLAGS ?=
bench-core: release
	.build/release/fraud-core-bench $(BENCH_CORE_FLAGS)

bench-anchors: release
	bash ../shared/anchors/bench.sh --configs "lat mid high" --under-test '$(CURDIR)/.build/release/fraud-server --auth off --port {port} --journal-dir $(CURDIR)/var/bench/anchors-journal-{port}'

clean:
	rm -rf .build
