#!/usr/bin/env node
// gen-vectors.js: test vectors for core/nitro from @statechannels/nitro-protocol@0.17.0.
//
// The npm package is a test-time oracle only. This script runs the package's
// own JS helpers (getChannelId, hashAppPart, encodeOutcome, hashOutcome,
// decodeOutcome, encodeAllocation, encodeGuarantee, hashState, signState,
// getStateSignerAddress, signChallengeMessage, hashChallengeMessage,
// convertAddressToBytes32) over pseudo-random but fully deterministic inputs
// and prints JSON to stdout. core/nitro/vectors_test.go checks every vector
// against the Go encoder.
//
// Determinism: all randomness comes from a keccak256 counter-mode stream over a
// fixed seed (no Math.random, no clock). Private keys are keccak256 of seed
// strings. Signatures are RFC 6979, so two runs give byte-identical output.
//
// Regenerate (what `make vectors` should run, from the repository root):
//
//   cd tools/oracle && npm ci && node gen-vectors.js > ../../testdata/vectors/nitro-0.17.0.json
//
// then `go test ./core/nitro/`.
'use strict';

const nitro = require('@statechannels/nitro-protocol');
const outcomeLib = require('@statechannels/nitro-protocol/lib/src/contract/outcome');
const challengeLib = require('@statechannels/nitro-protocol/lib/src/contract/challenge');
const {utils, BigNumber, Wallet} = require('ethers');

const PACKAGE = '@statechannels/nitro-protocol@' + require('@statechannels/nitro-protocol/package.json').version;
const ETHERS = 'ethers@' + require('ethers/package.json').version + ', @ethersproject/abi@' + require('@ethersproject/abi/package.json').version;
const SEED = 'nitrowallet/nitro-0.17.0/vectors/v1';

// ---------------------------------------------------------------------------
// Deterministic PRNG: keccak256(SEED || ":" || counter), consumed byte-wise.

let prngCounter = 0;
let prngBuf = Buffer.alloc(0);

function randBytes(n) {
  while (prngBuf.length < n) {
    const block = utils.arrayify(utils.keccak256(utils.toUtf8Bytes(SEED + ':' + prngCounter++)));
    prngBuf = Buffer.concat([prngBuf, Buffer.from(block)]);
  }
  const out = prngBuf.subarray(0, n);
  prngBuf = prngBuf.subarray(n);
  return Buffer.from(out);
}

function randBig(bits) {
  // uniform in [0, 2^bits)
  const nbytes = Math.ceil(bits / 8);
  let x = BigInt('0x' + (randBytes(nbytes).toString('hex') || '0'));
  return x & ((1n << BigInt(bits)) - 1n);
}

function randInt(lo, hi) {
  // uniform-ish integer in [lo, hi], hi - lo < 2^32
  const span = hi - lo + 1;
  return lo + (randBytes(4).readUInt32BE(0) % span);
}

function pick(arr) {
  return arr[randInt(0, arr.length - 1)];
}

function hex(buf) {
  return '0x' + Buffer.from(buf).toString('hex');
}

// ---------------------------------------------------------------------------
// Fixture material.

const MAX_UINT48 = (1n << 48n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;

const KEY_COUNT = 12;
const keys = [];
for (let i = 0; i < KEY_COUNT; i++) {
  const privateKey = utils.keccak256(utils.toUtf8Bytes('nitrowallet-vector-key-' + i));
  const wallet = new Wallet(privateKey);
  keys.push({privateKey, address: wallet.address}); // wallet.address is EIP-55
}

function randAddress() {
  return utils.getAddress(hex(randBytes(20)));
}

function randChannelIdDestination() {
  // A real channel id from getChannelId, so it is guaranteed non-external.
  const participants = [randAddress(), randAddress()];
  return nitro.getChannelId({chainId: '1', participants, channelNonce: randBig(48).toString()});
}

function randExternalDestination() {
  return nitro.convertAddressToBytes32(randAddress());
}

function randDestination() {
  return randInt(0, 1) === 0 ? randExternalDestination() : randChannelIdDestination();
}

function randAmount() {
  switch (randInt(0, 7)) {
    case 0:
      return '0';
    case 1:
    case 2:
      return BigInt(randInt(1, 1000)).toString();
    case 3:
      return (randBig(64) * 1000000000n).toString(); // wei-ish
    case 4:
      return MAX_UINT256.toString();
    case 5:
      return (MAX_UINT256 - BigInt(randInt(0, 1000))).toString();
    case 6:
      return (1n << BigInt(randInt(0, 255))).toString();
    default:
      return randBig(256).toString();
  }
}

function randUint48() {
  switch (randInt(0, 5)) {
    case 0:
      return '0';
    case 1:
      return MAX_UINT48.toString();
    case 2:
      return BigInt(randInt(1, 100)).toString();
    case 3:
      return (MAX_UINT48 - BigInt(randInt(0, 1000))).toString();
    default:
      return randBig(48).toString();
  }
}

function randChainId() {
  switch (randInt(0, 6)) {
    case 0:
      return '1';
    case 1:
      return '1337';
    case 2:
      return pick(['3', '4', '5', '42', '31337', '0']);
    case 3:
      return MAX_UINT256.toString();
    case 4:
      return randBig(64).toString();
    default:
      return randBig(256).toString();
  }
}

function randAppData(i) {
  // Deterministic coverage of the interesting shapes, then random sizes.
  const fixed = [0, 1, 3, 31, 32, 33, 63, 65, 4097];
  let len;
  if (i < fixed.length) len = fixed[i];
  else if (i % 17 === 0) len = randInt(2000, 6000); // long
  else if (i % 3 === 0) len = 0;
  else len = randInt(1, 200);
  return hex(randBytes(len));
}

function randAllocation() {
  const n = randInt(0, 6);
  const items = [];
  for (let j = 0; j < n; j++) items.push({destination: randDestination(), amount: randAmount()});
  return items;
}

function randGuarantee() {
  const n = randInt(0, 5);
  const destinations = [];
  for (let j = 0; j < n; j++) destinations.push(randDestination());
  return {targetChannelId: randChannelIdDestination(), destinations};
}

function randOutcome(i) {
  const nAssets = i < 4 ? i : randInt(0, 3);
  const out = [];
  for (let a = 0; a < nAssets; a++) {
    const assetHolderAddress = randInt(0, 5) === 0 ? utils.getAddress('0x' + '00'.repeat(20)) : randAddress();
    if (randInt(0, 2) === 0) out.push({assetHolderAddress, guarantee: randGuarantee()});
    else out.push({assetHolderAddress, allocationItems: randAllocation()});
  }
  return out;
}

function shuffledKeys(n) {
  const idx = keys.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = randInt(0, i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n);
}

// ---------------------------------------------------------------------------
// Vectors.

function errMessage(f) {
  try {
    f();
  } catch (e) {
    return String(e && e.message ? e.message : e).split('\n')[0].slice(0, 200);
  }
  return null;
}

function assert(cond, msg) {
  if (!cond) throw new Error('gen-vectors self-check failed: ' + msg);
}

function makeVector(i) {
  const nParticipants = i < 7 ? i + 2 : randInt(2, 8);
  const keyIdx = shuffledKeys(nParticipants);
  const participants = keyIdx.map(k => keys[k].address);
  const channel = {chainId: randChainId(), participants, channelNonce: randUint48()};
  const state = {
    channel,
    appDefinition: randInt(0, 7) === 0 ? utils.getAddress('0x' + '00'.repeat(20)) : randAddress(),
    challengeDuration: randUint48(),
    appData: randAppData(i),
    outcome: randOutcome(i),
    turnNum: randUint48(),
    isFinal: i % 2 === 1,
  };

  const channelId = nitro.getChannelId(channel);
  const appPartHash = nitro.hashAppPart(state);
  const outcomeBytes = nitro.encodeOutcome(state.outcome);
  const outcomeHash = nitro.hashOutcome(state.outcome);
  const stateHash = nitro.hashState(state);
  const challengeHash = challengeLib.hashChallengeMessage(state);

  // Self-checks through the JS helpers themselves.
  assert(outcomeHash === utils.keccak256(outcomeBytes), 'outcomeHash');
  assert(nitro.encodeOutcome(nitro.decodeOutcome(outcomeBytes)) === outcomeBytes, 'decode/encode round trip');
  assert(!nitro.isExternalDestination(channelId), 'channel id external');

  const assets = state.outcome.map(o => {
    const inner = 'guarantee' in o ? nitro.encodeGuarantee(o.guarantee) : nitro.encodeAllocation(o.allocationItems);
    const type = 'guarantee' in o ? outcomeLib.AssetOutcomeType.GuaranteeOutcomeType : outcomeLib.AssetOutcomeType.AllocationOutcomeType;
    return {innerBytes: inner, assetOutcomeBytes: outcomeLib.encodeAssetOutcomeFromBytes(type, inner)};
  });

  const signatures = keyIdx.map(k => {
    const signed = nitro.signState(state, keys[k].privateKey);
    const recovered = nitro.getStateSignerAddress(signed);
    assert(recovered === keys[k].address, 'recovered signer');
    return {key: k, signature: utils.joinSignature(signed.signature), recovered};
  });

  const challenger = keyIdx[randInt(0, keyIdx.length - 1)];
  const challengeSig = nitro.signChallengeMessage([{state, signature: {}}], keys[challenger].privateKey);
  const challengeSignature = utils.joinSignature(challengeSig);
  assert(utils.recoverAddress(utils.hashMessage(utils.arrayify(challengeHash)), challengeSignature) === keys[challenger].address, 'challenge signer');

  return {
    name: 'vector-' + i,
    chainId: channel.chainId,
    participants,
    channelNonce: channel.channelNonce,
    appDefinition: state.appDefinition,
    challengeDuration: state.challengeDuration,
    appData: state.appData,
    turnNum: state.turnNum,
    isFinal: state.isFinal,
    outcome: state.outcome,
    expected: {
      channelId,
      appPartHash,
      outcomeBytes,
      outcomeHash,
      assets,
      stateHash,
      challengeHash,
      signatures,
      challengeSignature: {key: challenger, signature: challengeSignature},
    },
  };
}

// Cases where the JS helper throws. `go` names the nitro error the Go side
// must return (checked with errors.Is).
function makeErrors() {
  const alice = keys[0].address;
  const bob = keys[1].address;
  const dest = nitro.convertAddressToBytes32(keys[2].address);
  const errors = [];
  const encodeCase = (name, outcome, go) => {
    const js = errMessage(() => nitro.encodeOutcome(outcome));
    assert(js !== null, name + ': JS did not throw');
    errors.push({name, kind: 'encodeOutcome', outcome, jsError: js, go});
  };
  const holder = randAddress();
  encodeCase('amount 2^256', [{assetHolderAddress: holder, allocationItems: [{destination: dest, amount: (MAX_UINT256 + 1n).toString()}]}], 'ErrAmountOutOfRange');
  encodeCase('amount 2^300', [{assetHolderAddress: holder, allocationItems: [{destination: dest, amount: (1n << 300n).toString()}]}], 'ErrAmountOutOfRange');
  encodeCase('amount -1', [{assetHolderAddress: holder, allocationItems: [{destination: dest, amount: '-1'}]}], 'ErrAmountOutOfRange');
  encodeCase('amount -2^255 in second asset', [
    {assetHolderAddress: holder, allocationItems: [{destination: dest, amount: '5'}]},
    {assetHolderAddress: holder, allocationItems: [{destination: dest, amount: (-(1n << 255n)).toString()}]},
  ], 'ErrAmountOutOfRange');

  const channelCase = (name, channel, go) => {
    const js = errMessage(() => nitro.getChannelId(channel));
    assert(js !== null, name + ': JS did not throw');
    errors.push({name, kind: 'channelId', chainId: channel.chainId, participants: channel.participants, channelNonce: channel.channelNonce, jsError: js, go});
  };
  channelCase('chainId -1', {chainId: '-1', participants: [alice, bob], channelNonce: '0'}, 'ErrBadChainID');
  channelCase('chainId 2^256', {chainId: (MAX_UINT256 + 1n).toString(), participants: [alice, bob], channelNonce: '0'}, 'ErrBadChainID');

  const decodeCase = (name, bytes, go) => {
    const js = errMessage(() => nitro.decodeOutcome(bytes));
    assert(js !== null, name + ': JS did not throw');
    errors.push({name, kind: 'decodeOutcome', bytes, jsError: js, go});
  };
  const good = nitro.encodeOutcome([
    {assetHolderAddress: holder, allocationItems: [{destination: dest, amount: '7'}, {destination: randChannelIdDestination(), amount: '9'}]},
  ]);
  const goodBytes = Buffer.from(utils.arrayify(good));
  decodeCase('empty', '0x', 'ErrBadOutcome');
  decodeCase('truncated by one word', hex(goodBytes.subarray(0, goodBytes.length - 32)), 'ErrBadOutcome');
  decodeCase('truncated to half', hex(goodBytes.subarray(0, Math.floor(goodBytes.length / 2))), 'ErrBadOutcome');
  const hugeLen = Buffer.from(goodBytes);
  hugeLen.fill(0xff, 32, 64); // outer array length = 2^256-1
  decodeCase('huge array length', hex(hugeLen), 'ErrBadOutcome');
  const hugeOff = Buffer.from(goodBytes);
  hugeOff.fill(0xff, 0, 32); // outer offset = 2^256-1
  decodeCase('huge offset', hex(hugeOff), 'ErrBadOutcome');
  decodeCase('garbage', hex(randBytes(95)), 'ErrBadOutcome');
  // Asset outcome type 2 (neither allocation nor guarantee).
  const badType = utils.defaultAbiCoder.encode(
    ['tuple(address assetHolderAddress, bytes outcomeContent)[]'],
    [[{assetHolderAddress: holder, outcomeContent: outcomeLib.encodeAssetOutcomeFromBytes(2, nitro.encodeAllocation([]))}]],
  );
  decodeCase('unknown asset outcome type', badType, 'ErrBadOutcome');
  // Asset outcome bytes that are not an AssetOutcome at all.
  const badInner = utils.defaultAbiCoder.encode(
    ['tuple(address assetHolderAddress, bytes outcomeContent)[]'],
    [[{assetHolderAddress: holder, outcomeContent: '0x1234'}]],
  );
  decodeCase('short asset outcome bytes', badInner, 'ErrBadOutcome');
  return errors;
}

function main() {
  const vectors = [];
  for (let i = 0; i < 72; i++) vectors.push(makeVector(i));
  const keyList = keys.map((k, i) => ({index: i, seed: 'nitrowallet-vector-key-' + i, privateKey: k.privateKey, address: k.address}));
  const doc = {
    description: 'Nitro 0.17.0 encoding vectors generated by tools/oracle/gen-vectors.js from the npm package helpers. Numbers are decimal strings, bytes are 0x hex, signatures are r||s||v with v in {27,28}.',
    package: PACKAGE,
    ethers: ETHERS,
    seed: SEED,
    keys: keyList,
    vectors,
    errors: makeErrors(),
  };
  process.stdout.write(JSON.stringify(doc, null, 1) + '\n');
}

main();
