// Package ethereum implements ports.Chain on a real EVM carrying the Nitro
// 0.17.0 contracts (NitroAdjudicator, ETHAssetHolder, ERC20AssetHolder). It
// talks to any go-ethereum client: ethclient/simulated in process, or
// ethclient.Dial(url) for a node over JSON-RPC.
//
// # Contracts
//
// The adapter carries only the ABI entries it uses (abi.go, checked against
// the npm artifacts by the tests). Bytecode is never committed: Deploy and
// DevChain read it at run time from the pinned npm package in tools/oracle
// (`make oracle`) or from $NITRO_ARTIFACTS.
//
// # Transactions
//
// Deposit, ConcludeAndTransferAll and the dispute calls (Challenge,
// Respond, Checkpoint, PushOutcomeAndTransferAll; dispute.go) estimate gas
// (plus GasMarginPercent),
// take a nonce from the account's nonce manager, send an EIP-1559
// transaction and return once it is mined (one block; confirmation depth
// applies to events only). The nonce manager assigns nonces locally and
// sends in nonce order, so one account has any number of transactions in
// flight, one per channel: each waits for its own receipt concurrently. A
// transaction not mined after StuckBlocks blocks or StuckTimeout is
// resubmitted with the same nonce and higher fees, by a tracker that keeps
// following it even when the caller has stopped waiting.
//
// A nonce has one owner: the tracker following its transaction. A stuck
// tracker whose nonce is above the node's (latest) nonce gives every nonce
// between that no tracker owns to a 0-value transfer to the account itself
// (TxInfo.Kind "fill"), so the transactions above can be mined. Such a
// nonce was handed out and will not be sent again: its transaction was
// mined and its receipt returned, then the node lost the block with the
// transaction (a node killed without its pool journal, a reorg that drops
// it; the core redoes what it did, learning of it from the chain's
// events); or an earlier process sent it and ended, and it sits stuck in
// the pool (the filler, at current fees, replaces it).
//
// Failures come back as the ports errors, which the app turns into
// core.TxFailed so the channel retries on the next tick instead of sticking:
//
//   - a revert in the gas estimate sends nothing and returns a
//     *ports.RevertError with the contract's reason ("holdings already
//     sufficient" and "Channel finalized." tell the core the goal is already
//     reached);
//   - a transaction that is mined but fails (another transaction changed
//     the state in between) is replayed on the state after its block to
//     recover the reason, and returned as a *ports.RevertError together
//     with its hash;
//   - a balance too small for value plus gas, or for an ERC20 deposit,
//     matches ports.ErrInsufficientFunds;
//   - a node that cannot be reached matches ports.ErrUnavailable. If it goes
//     away after accepting a transaction, the call returns after
//     UnavailableAfter failed receipt polls while the tracker keeps
//     following the transaction; the core's retry is then either mined or
//     refused harmlessly by the expectedHeld guard or the finalized check.
//
// ERC20 deposits approve the asset holder for the amount first (unless the
// allowance already covers it); deposits to one ERC20 asset holder from one
// Chain are serialized so that concurrent channels do not overwrite each
// other's allowance.
//
// # Events
//
// Events streams Deposited and AllocationUpdated from the asset holders and
// Concluded, ChallengeRegistered and ChallengeCleared from the adjudicator,
// in chain order, polling eth_getLogs in ranges of at most MaxBlockRange
// blocks up to the head less Confirmations. Each event carries its block's
// hash and header time, never the wall clock. The cursor is the caller's:
// Events(ctx, cursor) replays everything from the cursor's block, so a
// consumer that stores the block (and hash) of the last event it processed
// resumes after a restart or a dropped stream (the stream closes on any
// node error) without missing blocks; events of that block come again,
// which the core handles as idempotent. A node gets DefaultConfirmations
// unless the config sets a depth, and only a dev chain (Config.Dev, set by
// DevChain.NewChain) defaults to 0.
//
// ChallengeRegistered carries the challenger and the registered support
// proof, rebuilt from the event's fixed part, variable parts, turn number
// record, isFinal, signatures and whoSignedWhat by ports.RegisteredProof
// (the memory chain reports it through the same function). The event's
// isFinal only says the last state is final; how many are is recovered
// from the signatures (see RegisteredProof). A proof whose outcome bytes do
// not decode leaves Challenge nil; the event is still delivered. Record
// reads statusOf and BlockTime the head header; on the simulated chain,
// DevChain.AdjustTime moves the clock.
//
// # Reorgs and rollbacks
//
// Blocks the stream delivered may leave the node's chain: a reorg deeper
// than Confirmations, or a node that came back lower (geth --dev killed
// with its default database loses its latest blocks and mines different
// ones). On every poll the scanner checks that the last block it scanned
// still has the hash it saw and that the head is not below it, and at
// subscribe time it checks the cursor's block the same way. On a mismatch
// it walks back through the blocks it remembers (the ends of its last 64
// scans, then the cursor's checkpoints) to the newest one still on the
// chain, or falls back to Contracts.StartBlock, sends a core.EventRewound
// naming that ancestor, and scans again after it: events of the new branch
// at heights it had passed are delivered. It also makes the account's next
// transaction read its nonce from the node again, since the removed blocks'
// transactions may be gone. The wallet then re-reads every channel's
// holdings (exact, at the confirmed block) and funds or concludes again
// what vanished (see core.Rewound).
//
// A node that came back at genesis has no contracts: the stream rewinds to
// Contracts.StartBlock and waits for the chain to reach it (no busy loop;
// it polls every PollInterval), Holdings and other views there fail with
// ports.ErrNoContract (the wallet counts such holdings as zero and reports
// the channels whose funding vanished), and Deposit refuses with
// ports.ErrNoContract instead of sending value to an empty address (which
// an EVM would accept as a plain transfer); the wallet retries the deposit
// on its ticks until the deployment is back.
//
// # Dev chain
//
// DevChain starts go-ethereum's simulated chain, funds a faucet, deploys the
// contracts and the package's test Token, and mines a block after every
// transaction, so whole wallets run on it without manual mining.
// DevOptions.MainnetRules switches off the dev chain's Bogota gas rules for
// realistic gas figures.
package ethereum
