# nitrowallet: the entry points people type.
GO     ?= go
ORACLE := tools/oracle
STAMP  := $(ORACLE)/node_modules/.installed

.PHONY: demo test oracle vectors vet fmt clean

## demo: the founding document's happy path on the embedded in-memory chain
demo:
	$(GO) run ./cmd/nitrowallet demo

## test: vet and every test (installs the pinned npm oracle first)
test: oracle
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./core/... ./app/... ./adapters/memory/...

## oracle: install the pinned npm packages (Nitro 0.17.0, wire-format, client-api-schema)
oracle: $(STAMP)
$(STAMP): $(ORACLE)/package.json $(ORACLE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(ORACLE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## vectors: regenerate the committed encoding vectors with the npm helpers
vectors: oracle
	cd $(ORACLE) && node gen-vectors.js > ../../testdata/vectors/nitro-0.17.0.json

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(ORACLE)/node_modules
