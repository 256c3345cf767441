# nitrowallet: the entry points people type.
GO     ?= go
ORACLE := tools/oracle
STAMP  := $(ORACLE)/node_modules/.installed

.PHONY: demo test oracle vectors vet fmt clean geth bench-chain

## demo: the founding document's happy path on the real Nitro contracts in go-ethereum's
## simulated chain (prints transactions, gas and final balances; -chain memory for the model)
demo: oracle
	$(GO) run ./cmd/nitrowallet demo

## test: vet and every test (installs the pinned npm oracle first)
test: oracle geth
	$(GO) vet ./...
	./scripts/with-postgres.sh $(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./core/... ./app/... ./adapters/memory/...
	$(GO) test -count=1 -race -run 'Conformance|Fifty|RPCOutage|Stuck|Nonce|SendFailure' ./adapters/ethereum/
	./scripts/with-postgres.sh $(GO) test -count=1 -race -run 'Conformance|GroupCommit|FailsAlone|Fenced' ./adapters/postgres/

## oracle: install the pinned npm packages (Nitro 0.17.0, wire-format, client-api-schema)
oracle: $(STAMP)
$(STAMP): $(ORACLE)/package.json $(ORACLE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(ORACLE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## geth: build the pinned geth (the go.mod version) into bin/ once, for the integration test
GETH_VERSION := v1.17.10
geth: bin/geth
bin/geth:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/ethereum/go-ethereum/cmd/geth@$(GETH_VERSION)

## bench-chain: gas per contract call (mainnet and dev rules) and channel wall times on the simulated chain
bench-chain: oracle
	$(GO) test -run '^$$' -bench . -benchtime 20x ./adapters/ethereum/

## vectors: regenerate the committed encoding vectors with the npm helpers
vectors: oracle
	cd $(ORACLE) && node gen-vectors.js > ../../testdata/vectors/nitro-0.17.0.json

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(ORACLE)/node_modules
