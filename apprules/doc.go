// Package apprules decides, exactly as the deployed NitroAdjudicator
// 0.17.0 would, whether one state may follow another: ForceMove's
// transition rule in Go, and the channel's app run in go-ethereum's EVM
// in process.
//
// # The rule
//
// RequireValidTransition is ForceMove._requireValidTransition, the check
// the adjudicator makes on every consecutive pair of a support proof (and
// exposes as its public validTransition). For b following a:
//
//   - b final: the outcome may not change ("Outcome change verboten"); the
//     app data may, and the app is not asked.
//   - a final and b not: refused ("isFinal retrograde").
//   - a setup turn, turnNumB < 2n: outcome and app data unchanged
//     ("Outcome change forbidden", "appData change forbidden").
//   - otherwise the app decides: its validTransition(a, b, turnNumB, n)
//     must return true ("Invalid ForceMoveApp Transition" if it returns
//     false; its own revert, bubbled up unchanged, if it reverts).
//
// Every refusal is an *Error: errors.Is(err, ErrInvalidTransition) holds
// for all, errors.Is(err, ErrAppReverted) and the other kinds tell them
// apart, and Reason(err) (or Error.RevertData) is what the adjudicator
// reverts with, to the byte. TestCrossCheckWithAdjudicator checks this
// against the deployed contract for thousands of random transitions of the
// npm package's four apps. What signatures imply on chain (equal fixed
// parts, turnNumB = a.turnNum + 1) is the caller's to check.
//
// # The EVM and its limits
//
// App.ValidTransition sends the app the calldata the adjudicator sends
// (encodeCall, checked against go-ethereum's ABI encoder) by a static
// call, in a sandbox that holds nothing but the app's own code at its own
// address and the precompiles, under today's mainnet rules:
//
//   - Gas: at most Options.GasCap (DefaultGasCap, 6,000,000, the
//     TypeScript wallet's limit for a whole adjudicator transaction). Out
//     of gas is a refusal (ErrAppFailed wrapping vm.ErrOutOfGas); an
//     infinite loop ends there, so a run is bounded in time by its gas.
//   - Memory: the app cannot start another frame with memory of its own
//     (no calls but to precompiles, no DELEGATECALL or CALLCODE), so its
//     memory is bounded by what the gas cap can pay for: MaxMemory, about
//     1.7 MB at the default cap.
//   - No world outside the code: a call to any address but a precompile
//     (the app itself included), a read of any balance, storage, or other
//     account's code, and the opcodes that read the block or transaction
//     (TIMESTAMP, NUMBER, CALLER, ORIGIN, CHAINID, BLOCKHASH, …, and GAS
//     other than as a call's gas argument) stop the run with
//     ErrAppForbidden. Run locally they would see made-up values where the
//     chain sees real ones, and the verdict could differ from the chain's;
//     such apps are refused, never judged. (On chain such calls may
//     succeed: the local rule is stricter, never laxer, see
//     TestHostileApps.) A STATICCALL already refuses writes and
//     SELFDESTRUCT.
//   - Nothing escapes: the sandbox stops a run by a panic that
//     ValidTransition recovers, and any other panic inside the EVM becomes
//     ErrAppFailed too.
//
// Per app, NewApp does once what can be done once: it copies and hashes
// the code, decides whether the code can reach a refused opcode at all
// (the solc-compiled npm apps cannot: they run on the interpreter's
// untraced fast path; others run under an opcode guard), and keeps the
// JUMPDEST analysis after the first run for every later one. Runs reuse
// the EVMs of earlier ones (with their sandbox, block context and calldata
// buffer), one run at a time each, so a run builds only its calldata and
// the interpreter's per-call frame: 7 allocations for TrivialApp instead of
// 19 (BenchmarkValidTransition). An App is safe for concurrent use.
//
// # Apps judged natively
//
// For code the package knows byte for byte (today SingleAssetPayments of
// nitro-protocol 0.17.0, known by its code hash), NewApp also keeps
// a Go implementation of the app's validTransition (App.Native). It only
// ever answers "valid", and only for outcomes in the canonical encoding of
// one asset's allocation, up to 64 participants and 16 KiB of app data on
// each side, under a gas cap of at least 1,000,000; for anything else,
// and for every transition it does not find valid, the EVM runs as above
// and gives the verdict and the revert data. So the verdicts are the
// EVM's, sooner: 0.17 µs and no allocation instead of 15.6 µs and 7 for a
// two-party payment (BenchmarkValidTransition). TestNativeAgreesWithEVM
// and FuzzSingleAssetPaymentsNative compare it with the npm artifact's
// code in the EVM, TestCrossCheckWithAdjudicator with the deployed
// adjudicator; Options.EVMOnly turns it off.
//
// # How the core will receive the verdict (proposal, not wired yet)
//
// The core stays pure and free of go-ethereum's EVM: it gets the rule as
// a function value in its configuration,
//
//	// in core: TransitionRules judges b following a, as the adjudicator
//	// would; nil means valid, an error wrapping ErrInvalidTransition not.
//	type TransitionRules func(a, b nitro.State) error
//
// called for every state the wallet is about to sign and every state it
// accepts, beside the checks it makes today (turn, mover, signatures,
// totals), before anything is stored or sent. A refusal leaves the channel
// unchanged and maps to the client codes of issue 12 (401 on update, 1101
// on join, a refused message on push). Running a deterministic EVM over
// bytecode fixed in advance is computation, not I/O, so a pure function of
// (a, b) keeps Step deterministic and replayable, as the sim's "Step on a
// copy gives what the app commits" check requires. The app layer backs it
// with this package: a registry from appDefinition to *App, filled by
// RegisterAppDefinition (code through the chain port's eth_getCode) and
// RegisterAppBytecode and persisted by the stores, and
//
//	rules := func(a, b nitro.State) error {
//		app, ok := registry[b.AppDefinition] // nil Checker: no code
//		...
//		return apprules.ValidTransition(a, b, app)
//	}
//
// The registry must be fixed before a channel using the app is accepted
// (proposal and create refuse an unregistered app), so the function the
// core sees never changes its answer for a given pair of states.
package apprules
