#!/usr/bin/env node
// serve-e2e.js: a Node.js backend drives two `nitrowallet serve` processes
// through the founding document's whole path (the statuses and turn numbers
// of docs/protocol.md for two parties): A creates a channel, B joins, both fund on
// their shared chain, they take turns updating it, A closes it and both see
// it closed and defunded. It speaks JSON-RPC 2.0 over WebSocket with the
// `json-rpc-2.0` and `ws` packages from npm, and carries every MessageQueued
// notification from one server to the other with PushMessage, as an
// application carries its wallet's messages.
//
// Every request it sends, every response and every notification of the
// client API it receives is checked against @statechannels/client-api-schema
// 0.5.0; every status and turn number the seed names is asserted, and the
// statuses and turns each server reports for the channel must never go back.
// A authenticates with an Authorization header, B with the ["nitrowallet",
// "bearer.<token>"] subprotocol list a browser must use; upgrades without the
// token or with a wrong one must be refused with HTTP 401. Each server must
// announce every message PushMessage took with a MessageReceived notification.
//
// Usage (flags win over the environment):
//   node serve-e2e.js --a-url ws://127.0.0.1:7777/api --a-token T1 \
//                     --b-url ws://127.0.0.1:7778/api --b-token T2 \
//                     --asset-holder 0x<ETH asset holder>
//   --a-url, --b-url           NITROWALLET_A_URL, NITROWALLET_B_URL (ws:// or wss://, path /api)
//   --a-token, --b-token       NITROWALLET_A_TOKEN, NITROWALLET_B_TOKEN
//   --asset-holder             NITROWALLET_ASSET_HOLDER: the ETH asset holder both wallets use
//   --a-destination, --b-destination
//                              NITROWALLET_A_DESTINATION, NITROWALLET_B_DESTINATION: where each
//                              party is paid (default: its wallet's destinationAddress)
//   --updates N                NITROWALLET_E2E_UPDATES: rounds of A-then-B updates (default 2)
//   --timeout MS               NITROWALLET_E2E_TIMEOUT_MS: one step's limit (default 60000)
//
// A's deposit is 5 wei and B's 3; each round A pays B 2 and B pays A 1 back,
// so after N rounds A is owed 5-N and B 3+N. On success it prints one JSON
// line to stdout, {"ok":true,"channelId":...,"destinations":{...},"final":{...}}
// with the final amounts as decimal strings, for the caller to check the
// chain; on any failure or timeout it prints "serve-e2e: FAIL: <step>: <why>"
// to stderr and exits 1 (2 for bad usage).
'use strict';

const { parseArgs } = require('node:util');
const WebSocket = require('ws');
const { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient } = require('json-rpc-2.0');
const schema = require('@statechannels/client-api-schema');

const ZERO_ADDRESS = '0x' + '00'.repeat(20);
const DEPOSIT = { A: 5n, B: 3n };
const STATUS_ORDER = ['proposed', 'opening', 'funding', 'running', 'closing', 'closed'];
// Notifications of the client API schema; MessageReceived is the server's
// extension (not in the schema, so not validated).
const SCHEMA_NOTIFICATIONS = ['ChannelProposed', 'ChannelUpdated', 'ChannelClosed', 'MessageQueued'];
const EXTENSION_NOTIFICATIONS = ['MessageReceived'];

class Failure extends Error {}

function usage(msg) {
  process.stderr.write(`serve-e2e: ${msg}\nsee the comment at the top of tools/oracle/serve-e2e.js\n`);
  process.exit(2);
}

function config(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'a-url': { type: 'string' }, 'a-token': { type: 'string' },
        'b-url': { type: 'string' }, 'b-token': { type: 'string' },
        'asset-holder': { type: 'string' },
        'a-destination': { type: 'string' }, 'b-destination': { type: 'string' },
        updates: { type: 'string' }, timeout: { type: 'string' },
      },
    }));
  } catch (e) {
    usage(e.message);
  }
  const pick = (flag, name, def) => values[flag] ?? env[name] ?? def;
  const c = {
    A: { url: pick('a-url', 'NITROWALLET_A_URL'), token: pick('a-token', 'NITROWALLET_A_TOKEN'), destination: pick('a-destination', 'NITROWALLET_A_DESTINATION') },
    B: { url: pick('b-url', 'NITROWALLET_B_URL'), token: pick('b-token', 'NITROWALLET_B_TOKEN'), destination: pick('b-destination', 'NITROWALLET_B_DESTINATION') },
    assetHolder: pick('asset-holder', 'NITROWALLET_ASSET_HOLDER'),
    updates: Number(pick('updates', 'NITROWALLET_E2E_UPDATES', '2')),
    timeoutMs: Number(pick('timeout', 'NITROWALLET_E2E_TIMEOUT_MS', '60000')),
  };
  for (const p of ['A', 'B']) {
    if (!c[p].url || !/^wss?:\/\//.test(c[p].url)) usage(`${p}'s URL must be ws:// or wss:// (got ${JSON.stringify(c[p].url)})`);
    if (!c[p].token) usage(`${p}'s token is missing`);
    if (c[p].destination !== undefined && !isAddress(c[p].destination)) usage(`${p}'s destination is not an address`);
  }
  if (!isAddress(c.assetHolder)) usage('--asset-holder (NITROWALLET_ASSET_HOLDER) must be a 20-byte hex address');
  if (!Number.isInteger(c.updates) || c.updates < 0 || c.updates > 5) usage('--updates must be 0..5 (A pays 2 a round out of 5)');
  if (!Number.isInteger(c.timeoutMs) || c.timeoutMs <= 0) usage('--timeout must be a positive number of milliseconds');
  return c;
}

function isAddress(s) { return typeof s === 'string' && /^0x[0-9a-fA-F]{40}$/.test(s); }

// destination32 is an address as the wallet's 32-byte destination
// (left-padded), the form its ChannelResults carry.
function destination32(addr) {
  const hex = addr.toLowerCase().replace(/^0x/, '');
  if (hex.length === 64) return '0x' + hex;
  return '0x' + hex.padStart(64, '0');
}

function uint256(n) { return '0x' + BigInt(n).toString(16).padStart(64, '0'); }

function schemaCheck(what, fn, obj) {
  try {
    fn(obj);
  } catch (e) {
    throw new Failure(`${what} does not fit client-api-schema 0.5.0: ${e.message.trim()}\n${JSON.stringify(obj)}`);
  }
}

// Party is one server: a WebSocket carrying JSON-RPC both ways, the
// notifications it pushed so far, and waiters for the ones to come.
class Party {
  // auth is 'header' (Authorization: Bearer) or 'subprotocol' (the
  // ["nitrowallet", "bearer.<token>"] list a browser sends).
  constructor(name, cfg, timeoutMs, fail, auth) {
    this.name = name;
    this.auth = auth;
    this.cfg = cfg;
    this.timeoutMs = timeoutMs;
    this.fail = fail; // reports an error outside any step (relay, socket)
    this.notes = []; // {method, params}
    this.waiters = new Set();
    this.last = new Map(); // channelId -> {status, turnNum}
    this.relayed = 0;
    this.opened = false;
    this.closing = false;
  }

  async connect() {
    const ws = this.auth === 'subprotocol'
      ? new WebSocket(this.cfg.url, ['nitrowallet', `bearer.${this.cfg.token}`])
      : new WebSocket(this.cfg.url, { headers: { Authorization: `Bearer ${this.cfg.token}` } });
    this.ws = ws;
    const server = new JSONRPCServer({ errorListener: () => {} });
    const client = new JSONRPCClient((req) => {
      schemaCheck(`${this.name}: request ${req.method}`, schema.parseRequest, req);
      return new Promise((resolve, reject) => ws.send(JSON.stringify(req), (err) => (err ? reject(err) : resolve())));
    });
    this.rpc = new JSONRPCServerAndClient(server, client, { errorListener: () => {} });
    for (const m of [...SCHEMA_NOTIFICATIONS, ...EXTENSION_NOTIFICATIONS]) {
      this.rpc.addMethod(m, (params) => this.notified(m, params));
    }
    ws.on('message', (data, isBinary) => {
      let msg;
      try {
        if (isBinary) throw new Error('binary frame');
        msg = JSON.parse(data.toString());
      } catch (e) {
        this.fail(new Failure(`${this.name}: not a JSON text message (${e.message}): ${data.toString().slice(0, 200)}`));
        return;
      }
      try {
        this.check(msg);
      } catch (e) {
        this.fail(e);
        return;
      }
      this.rpc.receiveAndSend(msg).catch((e) => this.fail(new Failure(`${this.name}: ${e.message}`)));
    });
    ws.on('close', (code, reason) => {
      this.rpc.rejectAllPendingRequests(`${this.name}: connection closed (${code} ${reason})`);
      // Before it opened, connect reports why.
      if (this.opened && !this.closing) this.fail(new Failure(`${this.name}: the server closed the WebSocket (${code} ${reason})`));
    });
    await new Promise((resolve, reject) => {
      ws.once('open', () => { this.opened = true; resolve(); });
      ws.once('unexpected-response', (_req, res) => reject(new Failure(`${this.name}: WebSocket upgrade refused with HTTP ${res.statusCode}`)));
      ws.once('error', (e) => reject(new Failure(`${this.name}: cannot connect to ${this.cfg.url}: ${e.message}`)));
    });
    ws.on('error', (e) => this.fail(new Failure(`${this.name}: WebSocket error: ${e.message}`)));
    if (this.auth === 'subprotocol' && ws.protocol !== 'nitrowallet') {
      throw new Failure(`${this.name}: the server answered subprotocol ${JSON.stringify(ws.protocol)}, want "nitrowallet"`);
    }
  }

  // check validates what the server sent against the schema: responses to
  // our calls (all of which the schema defines) and its notifications.
  check(msg) {
    if (Array.isArray(msg)) throw new Failure(`${this.name}: unexpected batch on the WebSocket`);
    if ('method' in msg) {
      if (SCHEMA_NOTIFICATIONS.includes(msg.method)) {
        schemaCheck(`${this.name}: notification ${msg.method}`, schema.parseNotification, msg);
      }
      if ('id' in msg) throw new Failure(`${this.name}: the server sent a request with an id: ${JSON.stringify(msg)}`);
    } else if ('result' in msg) {
      schemaCheck(`${this.name}: response ${msg.id}`, schema.parseResponse, msg);
    }
  }

  async call(method, params) {
    try {
      return await this.rpc.timeout(this.timeoutMs).request(method, params);
    } catch (e) {
      const code = e.code !== undefined ? ` (code ${e.code})` : '';
      throw new Failure(`${this.name}: ${method} failed${code}: ${e.message}`);
    }
  }

  notified(method, params) {
    this.notes.push({ method, params });
    if (method.startsWith('Channel')) this.monotonic(params);
    if (method === 'MessageQueued' && this.onMessage) this.onMessage(params);
    for (const w of this.waiters) w();
  }

  // monotonic fails the run when a channel's status or turn goes back.
  monotonic(c) {
    const prev = this.last.get(c.channelId);
    const rank = STATUS_ORDER.indexOf(c.status);
    if (rank < 0) {
      this.fail(new Failure(`${this.name}: channel ${c.channelId} has status ${c.status}, not one of the seed's`));
      return;
    }
    if (prev && (rank < STATUS_ORDER.indexOf(prev.status) || c.turnNum < prev.turnNum)) {
      this.fail(new Failure(`${this.name}: channel went back from ${prev.status} turn ${prev.turnNum} to ${c.status} turn ${c.turnNum}`));
      return;
    }
    this.last.set(c.channelId, { status: c.status, turnNum: c.turnNum });
  }

  // waitCount resolves once n notifications named method have come.
  waitCount(method, n) {
    const count = () => this.notes.filter((x) => x.method === method).length;
    return new Promise((resolve, reject) => {
      if (count() >= n) return resolve();
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Failure(`${this.name}: timed out after ${this.timeoutMs} ms waiting for ${n} ${method} notifications; got ${count()}`));
      }, this.timeoutMs);
      const check = () => {
        if (count() >= n) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
    });
  }

  // waitChannel resolves with the first channel notification (so far or to
  // come) for id that satisfies pred: any of ChannelProposed, ChannelUpdated
  // and ChannelClosed, or only the one named by method.
  waitChannel(id, what, pred, method) {
    const find = () => this.notes.find((n) => (method ? n.method === method : n.method.startsWith('Channel')) &&
      n.params.channelId === id && pred(n.params));
    return new Promise((resolve, reject) => {
      const hit = find();
      if (hit) return resolve(hit.params);
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.notes.filter((n) => n.method.startsWith('Channel') && n.params.channelId === id)
          .map((n) => `${n.method} ${n.params.status}/${n.params.turnNum}/${n.params.fundingStatus}`);
        reject(new Failure(`${this.name}: timed out after ${this.timeoutMs} ms waiting for ${what}; seen: [${seen.join(', ')}]`));
      }, this.timeoutMs);
      const check = () => {
        const h = find();
        if (h) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(h.params);
        }
      };
      this.waiters.add(check);
    });
  }

  close() {
    this.closing = true;
    if (this.ws) this.ws.close(1000, 'done');
  }
}

function want(who, c, status, turn) {
  if (c.status !== status || c.turnNum !== turn) {
    throw new Failure(`${who}: status ${c.status} turn ${c.turnNum}, want ${status} turn ${turn}`);
  }
}

function reach(p, id, status, turn) {
  return p.waitChannel(id, `${status} turn ${turn}`, (c) => c.status === status && c.turnNum === turn);
}

// relay carries each MessageQueued of from to its peer with PushMessage, one
// at a time and in order, checking it is addressed to the peer.
function relay(from, to, fail) {
  let chain = Promise.resolve();
  from.onMessage = (m) => {
    if (m.recipient !== to.name) {
      fail(new Failure(`${from.name}: MessageQueued for ${JSON.stringify(m.recipient)}, want ${to.name}`));
      return;
    }
    if (m.sender !== undefined && m.sender !== from.name) {
      fail(new Failure(`${from.name}: MessageQueued from ${JSON.stringify(m.sender)}, want ${from.name}`));
      return;
    }
    chain = chain.then(async () => {
      const r = await to.call('PushMessage', m);
      if (!r || r.success !== true) throw new Failure(`${to.name}: PushMessage answered ${JSON.stringify(r)}`);
      from.relayed++;
    }).catch(fail);
  };
}

// refusesWithoutToken checks that upgrades without the token, with a wrong
// bearer header and with a wrong bearer subprotocol are refused with 401.
async function refusesWithoutToken(url) {
  const tries = [
    ['no token', () => new WebSocket(url)],
    ['a wrong Authorization header', () => new WebSocket(url, { headers: { Authorization: 'Bearer wrong' } })],
    ['a wrong bearer subprotocol', () => new WebSocket(url, ['nitrowallet', 'bearer.wrong'])],
  ];
  for (const [what, open] of tries) {
    const ws = open();
    const status = await new Promise((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve('open'));
      ws.once('error', (e) => resolve(`error ${e.message}`));
    });
    ws.terminate();
    if (status !== 401) throw new Failure(`a WebSocket upgrade with ${what} got ${status}, want HTTP 401`);
  }
}

function allocation(cfg, dest, a, b) {
  return [{
    assetHolderAddress: cfg.assetHolder,
    allocationItems: [{ destination: dest.A, amount: uint256(a) }, { destination: dest.B, amount: uint256(b) }],
  }];
}

async function run(cfg, A, B, fail, step) {
  step('unauthenticated upgrade');
  await refusesWithoutToken(cfg.A.url);
  step('connect');
  await A.connect();
  await B.connect();
  relay(A, B, fail);
  relay(B, A, fail);

  step('GetWalletInformation');
  const info = { A: await A.call('GetWalletInformation', {}), B: await B.call('GetWalletInformation', {}) };
  const addr = {};
  for (const p of ['A', 'B']) {
    const d = cfg[p].destination ?? info[p].destinationAddress ?? info[p].signingAddress;
    if (!isAddress(d) && !/^0x[0-9a-fA-F]{64}$/.test(d ?? '')) throw new Failure(`${p}: no destination (wallet information ${JSON.stringify(info[p])})`);
    addr[p] = d;
  }
  const dest = { A: destination32(addr.A), B: destination32(addr.B) };
  const participants = ['A', 'B'].map((p) => ({ participantId: p, signingAddress: info[p].signingAddress, destination: dest[p] }));

  // Opening a channel.
  step('A CreateChannel');
  let a = DEPOSIT.A;
  const total = DEPOSIT.A + DEPOSIT.B;
  let r = await A.call('CreateChannel', {
    participants, allocations: allocation(cfg, dest, a, total - a),
    appDefinition: ZERO_ADDRESS, appData: '0x', fundingStrategy: 'Direct',
  });
  const id = r.channelId;
  want('A after CreateChannel', r, 'opening', 0);
  step('B proposed (msg0)');
  r = await B.waitChannel(id, 'a ChannelProposed notification', () => true, 'ChannelProposed');
  want('B on msg0', r, 'proposed', 0);
  step('B JoinChannel');
  r = await B.call('JoinChannel', { channelId: id });
  want('B after JoinChannel', r, 'opening', 1);
  step('A funding (msg1)');
  await reach(A, id, 'funding', 1);
  step('both fund, running (msg2, msg3)');
  await reach(B, id, 'running', 3);
  await reach(A, id, 'running', 3);
  for (const [p, who] of [[A, 'A'], [B, 'B']]) {
    const s = await p.call('GetState', { channelId: id });
    want(`${who} GetState after funding`, s, 'running', 3);
    if (s.fundingStatus !== 'Funded') throw new Failure(`${who}: fundingStatus ${s.fundingStatus} when running, want Funded`);
  }

  // Running a channel: A then B, turn by turn.
  for (let i = 0; i < cfg.updates; i++) {
    const turn = 4 + 2 * i;
    step(`A UpdateChannel turn ${turn}`);
    a -= 2n;
    r = await A.call('UpdateChannel', { channelId: id, allocations: allocation(cfg, dest, a, total - a), appData: '0x' });
    want(`A after UpdateChannel ${i}`, r, 'running', turn);
    await reach(B, id, 'running', turn);
    step(`B UpdateChannel turn ${turn + 1}`);
    a += 1n;
    r = await B.call('UpdateChannel', { channelId: id, allocations: allocation(cfg, dest, a, total - a), appData: '0x' });
    want(`B after UpdateChannel ${i}`, r, 'running', turn + 1);
    await reach(A, id, 'running', turn + 1);
  }

  // Closing a channel.
  const final = 4 + 2 * cfg.updates;
  step('A CloseChannel');
  r = await A.call('CloseChannel', { channelId: id });
  want('A after CloseChannel', r, 'closing', final);
  step('B closed (isFinalA)');
  await reach(B, id, 'closed', final);
  step('A closed (isFinalB)');
  await reach(A, id, 'closed', final);
  step('ChannelClosed notifications');
  for (const p of [A, B]) {
    r = await p.waitChannel(id, 'a ChannelClosed notification', (c) => c.status === 'closed', 'ChannelClosed');
    want(`${p.name}'s ChannelClosed`, r, 'closed', final);
  }
  step('both defunded (conclude on chain)');
  for (const p of [A, B]) {
    await p.waitChannel(id, 'fundingStatus Defunded', (c) => c.fundingStatus === 'Defunded');
  }
  step('MessageReceived notifications');
  // The server tells its connections of each message PushMessage took.
  await B.waitCount('MessageReceived', A.relayed);
  await A.waitCount('MessageReceived', B.relayed);
  step('final GetState and GetChannels');
  for (const [p, who] of [[A, 'A'], [B, 'B']]) {
    const s = await p.call('GetState', { channelId: id });
    want(`${who} final GetState`, s, 'closed', final);
    const got = s.allocations[0].allocationItems.map((it) => BigInt(it.amount));
    if (got[0] !== a || got[1] !== total - a) throw new Failure(`${who}: final allocation ${got}, want ${a},${total - a}`);
    const all = await p.call('GetChannels', { includeClosed: true });
    if (!Array.isArray(all) || !all.some((c) => c.channelId === id && c.status === 'closed')) {
      throw new Failure(`${who}: GetChannels does not list the channel as closed`);
    }
  }
  return {
    ok: true, channelId: id, updates: cfg.updates,
    relayed: { AtoB: A.relayed, BtoA: B.relayed },
    destinations: { A: addr.A, B: addr.B },
    final: { A: a.toString(), B: (total - a).toString() },
  };
}

async function main() {
  const cfg = config(process.argv.slice(2), process.env);
  let current = 'start';
  let failWith;
  const failed = new Promise((_, reject) => { failWith = reject; });
  failed.catch(() => {});
  const fail = (e) => failWith(e instanceof Failure ? e : new Failure(String(e && e.stack ? e.stack : e)));
  // A authenticates as a backend does, B as a browser must.
  const A = new Party('A', cfg.A, cfg.timeoutMs, fail, 'header');
  const B = new Party('B', cfg.B, cfg.timeoutMs, fail, 'subprotocol');
  try {
    const summary = await Promise.race([run(cfg, A, B, fail, (s) => { current = s; }), failed]);
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.stderr.write(`serve-e2e: ok: channel ${summary.channelId} closed after ${cfg.updates} rounds; ` +
      `${A.relayed} messages A->B, ${B.relayed} B->A\n`);
    A.close();
    B.close();
    process.exit(0);
  } catch (e) {
    const why = e instanceof Failure ? e.message : (e && e.stack) || String(e);
    process.stderr.write(`serve-e2e: FAIL: ${current}: ${why}\n`);
    process.exit(1);
  }
}

main();
