# nitrowallet: the entry points people type.
GO     ?= go
ORACLE := tools/oracle
STAMP  := $(ORACLE)/node_modules/.installed
TSWALLET := tools/tswallet
TSSTAMP  := $(TSWALLET)/node_modules/.installed

.PHONY: demo test oracle tswallet vectors vet fmt clean geth browser bench-chain fuzz soak bench bench-pg-profile

## demo: the founding document's happy path on the real Nitro contracts in go-ethereum's
## simulated chain (prints transactions, gas and final balances; -chain memory for the model)
demo: oracle
	$(GO) run ./cmd/nitrowallet demo

## test: vet and every test (installs the pinned npm oracle, the TS wallet and Chromium first)
test: oracle tswallet geth browser
	$(GO) vet ./...
	./scripts/with-postgres.sh $(GO) test -count=1 ./...
	./scripts/with-postgres.sh $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...
	./scripts/with-postgres.sh $(GO) test -count=1 -race ./core/... ./app/... ./adapters/memory/...
	$(GO) test -count=1 -race -run 'Conformance|Fifty|RPCOutage|Stuck|Nonce|SendFailure|Rollback|NewBranch|Genesis|RewindAtSubscribe' ./adapters/ethereum/
	./scripts/with-postgres.sh $(GO) test -count=1 -race -run 'Conformance|GroupCommit|FailsAlone|Fenced|Deadlines|Abandoned|DriverErrors|LockKept|LockTaken' ./adapters/postgres/

## fuzz: each fuzz target for FUZZTIME (default 2m): wire decoding, the wire lexer against
## encoding/json's tokens, Step on arbitrary inputs,
## received messages, PushMessage on a live wallet, the native SingleAssetPayments against
## its EVM code (new crashers land in testdata/fuzz)
FUZZTIME ?= 2m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMessage$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzLexer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzReceiveMessage$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzPushMessage$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./app/
	$(GO) test -run '^$$' -fuzz '^FuzzSingleAssetPaymentsNative$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./apprules/

## soak: the property tests far longer: SOAK_SEQUENCES random sequences (default 50000; `make test`
## runs 2000) and the explorer over k = 2, 3 and 4 updates with d = 1; then the full database
## fault run (docs/faults.md: a 5 s stop, a 10 s table lock, about two and a half minutes)
SOAK_SEQUENCES ?= 50000
soak:
	NITROWALLET_PROP_SEQUENCES=$(SOAK_SEQUENCES) NITROWALLET_EXPLORE="2,1 3,1 4,1" \
		$(GO) test -count=1 -v -timeout 0 -run 'TestRandomCommandSequences|TestExplore|TestRunsAreReproducible|TestRegressions' ./property_tests/
	NITROWALLET_FAULT_RUN=full $(GO) test -count=1 -v -timeout 0 -run '^TestFaultRun$$' ./app/

## oracle: install the pinned npm packages (Nitro 0.17.0 and 0.10.1, wire-format, client-api-schema)
oracle: $(STAMP)
$(STAMP): $(ORACLE)/package.json $(ORACLE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(ORACLE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## tswallet: install the pinned TypeScript server wallet 1.13.1, the live interop peer of
## internal/tslive (tools/tswallet/driver.js runs it on PostgreSQL)
tswallet: $(TSSTAMP)
$(TSSTAMP): $(TSWALLET)/package.json $(TSWALLET)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(TSWALLET) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## geth: build the pinned geth (the go.mod version) into bin/ once, for the integration test
GETH_VERSION := v1.17.10
geth: bin/geth
bin/geth:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/ethereum/go-ethereum/cmd/geth@$(GETH_VERSION)

## browser: Debian's Chromium once, for the operator's page test (server/page, chromedp)
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)
$(CHROMIUM):
	apt-get install -y --no-install-recommends chromium

## bench: one table (docs/benchmarks.md): updates/s, p50/p99 latency and allocations per update
## on the memory and PostgreSQL stores, channel lifecycles on the simulated chain and heap per
## idle channel, each throughput against the sign + recover ceiling measured in the same run.
## BENCHFLAGS passes flags, e.g. BENCHFLAGS='-duration 10s -count 7' (see nitrowallet bench -h)
BENCHFLAGS ?=
bench: oracle
	./scripts/with-postgres.sh $(GO) run ./cmd/nitrowallet bench $(BENCHFLAGS)

## bench-pg-profile: the PostgreSQL rows (and the app rows) on a throwaway cluster started with
## pg_stat_statements loaded, so the table ends with each row's statements per operation
## (calls, rows, execution and planning time); needs PostgreSQL's binaries, not a running server
bench-pg-profile: oracle
	env -u NITROWALLET_TEST_DATABASE_URL WITH_POSTGRES_SKIP_LOCAL=1 WITH_POSTGRES_STATEMENTS=1 \
		./scripts/with-postgres.sh $(GO) run ./cmd/nitrowallet bench -only ceiling,postgres,app -many 0 $(BENCHFLAGS)

## bench-chain: gas per contract call (mainnet and dev rules) and channel wall times on the simulated chain
bench-chain: oracle
	$(GO) test -run '^$$' -bench . -benchtime 20x ./adapters/ethereum/

## vectors: regenerate the committed encoding vectors with the npm helpers
vectors: oracle
	cd $(ORACLE) && node gen-vectors.js > ../../testdata/vectors/nitro-0.17.0.json
	cd $(ORACLE) && node gen-vectors-0101.js > ../../testdata/vectors/nitro-0.10.1.json

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(ORACLE)/node_modules $(TSWALLET)/node_modules
