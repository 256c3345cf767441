package ethereum

// The subset of the Nitro 0.17.0 ABIs the adapter calls and decodes, copied
// verbatim (less the internalType annotations) from the artifacts of
// @statechannels/nitro-protocol@0.17.0. Only interfaces are here, no
// bytecode; TestABIMatchesArtifacts checks every entry against the pinned
// npm artifacts, so a drift fails the tests.

// adjudicatorABIJSON is the ABI of NitroAdjudicator: concludePushOutcomeAndTransferAll, statusOf and its events.
const adjudicatorABIJSON = `[
{"inputs":[{"name":"largestTurnNum","type":"uint48"},{"components":[{"name":"chainId","type":"uint256"},{"name":"participants","type":"address[]"},{"name":"channelNonce","type":"uint48"},{"name":"appDefinition","type":"address"},{"name":"challengeDuration","type":"uint48"}],"name":"fixedPart","type":"tuple"},{"name":"appPartHash","type":"bytes32"},{"name":"outcomeBytes","type":"bytes"},{"name":"numStates","type":"uint8"},{"name":"whoSignedWhat","type":"uint8[]"},{"components":[{"name":"v","type":"uint8"},{"name":"r","type":"bytes32"},{"name":"s","type":"bytes32"}],"name":"sigs","type":"tuple[]"}],"name":"concludePushOutcomeAndTransferAll","outputs":[],"stateMutability":"nonpayable","type":"function"},
{"inputs":[{"name":"","type":"bytes32"}],"name":"statusOf","outputs":[{"name":"","type":"bytes32"}],"stateMutability":"view","type":"function"},
{"anonymous":false,"inputs":[{"indexed":true,"name":"channelId","type":"bytes32"},{"indexed":false,"name":"finalizesAt","type":"uint48"}],"name":"Concluded","type":"event"},
{"anonymous":false,"inputs":[{"indexed":true,"name":"channelId","type":"bytes32"},{"indexed":false,"name":"turnNumRecord","type":"uint48"},{"indexed":false,"name":"finalizesAt","type":"uint48"},{"indexed":false,"name":"challenger","type":"address"},{"indexed":false,"name":"isFinal","type":"bool"},{"components":[{"name":"chainId","type":"uint256"},{"name":"participants","type":"address[]"},{"name":"channelNonce","type":"uint48"},{"name":"appDefinition","type":"address"},{"name":"challengeDuration","type":"uint48"}],"indexed":false,"name":"fixedPart","type":"tuple"},{"components":[{"name":"outcome","type":"bytes"},{"name":"appData","type":"bytes"}],"indexed":false,"name":"variableParts","type":"tuple[]"},{"components":[{"name":"v","type":"uint8"},{"name":"r","type":"bytes32"},{"name":"s","type":"bytes32"}],"indexed":false,"name":"sigs","type":"tuple[]"},{"indexed":false,"name":"whoSignedWhat","type":"uint8[]"}],"name":"ChallengeRegistered","type":"event"},
{"anonymous":false,"inputs":[{"indexed":true,"name":"channelId","type":"bytes32"},{"indexed":false,"name":"newTurnNumRecord","type":"uint48"}],"name":"ChallengeCleared","type":"event"}]`

// assetHolderABIJSON is the ABI of ETHAssetHolder and ERC20AssetHolder (same selectors and events; Token only on ERC20AssetHolder).
const assetHolderABIJSON = `[
{"inputs":[{"name":"destination","type":"bytes32"},{"name":"expectedHeld","type":"uint256"},{"name":"amount","type":"uint256"}],"name":"deposit","outputs":[],"stateMutability":"nonpayable","type":"function"},
{"inputs":[{"name":"","type":"bytes32"}],"name":"holdings","outputs":[{"name":"","type":"uint256"}],"stateMutability":"view","type":"function"},
{"inputs":[],"name":"AdjudicatorAddress","outputs":[{"name":"","type":"address"}],"stateMutability":"view","type":"function"},
{"inputs":[],"name":"Token","outputs":[{"name":"","type":"address"}],"stateMutability":"view","type":"function"},
{"anonymous":false,"inputs":[{"indexed":true,"name":"destination","type":"bytes32"},{"indexed":false,"name":"amountDeposited","type":"uint256"},{"indexed":false,"name":"destinationHoldings","type":"uint256"}],"name":"Deposited","type":"event"},
{"anonymous":false,"inputs":[{"indexed":true,"name":"channelId","type":"bytes32"},{"indexed":false,"name":"initialHoldings","type":"uint256"}],"name":"AllocationUpdated","type":"event"}]`

// erc20ABIJSON is the ABI of The ERC20 calls the adapter makes on an ERC20AssetHolder's token.
const erc20ABIJSON = `[
{"inputs":[{"name":"spender","type":"address"},{"name":"amount","type":"uint256"}],"name":"approve","outputs":[{"name":"","type":"bool"}],"stateMutability":"nonpayable","type":"function"},
{"inputs":[{"name":"owner","type":"address"},{"name":"spender","type":"address"}],"name":"allowance","outputs":[{"name":"","type":"uint256"}],"stateMutability":"view","type":"function"},
{"inputs":[{"name":"account","type":"address"}],"name":"balanceOf","outputs":[{"name":"","type":"uint256"}],"stateMutability":"view","type":"function"},
{"inputs":[{"name":"recipient","type":"address"},{"name":"amount","type":"uint256"}],"name":"transfer","outputs":[{"name":"","type":"bool"}],"stateMutability":"nonpayable","type":"function"}]`
