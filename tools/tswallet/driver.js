#!/usr/bin/env node
// driver.js: one @statechannels/server-wallet@1.13.1 on PostgreSQL, driven over
// JSON lines on stdin/stdout (the Go live test, internal/tslive, is its user).
//
// Requests, one JSON object a line on stdin:  {"id": 1, "call": "createChannel", "params": {...}}
// Responses on stdout, in completion order:   {"id": 1, "result": ...} or {"id": 1, "error": {"message", "name"}}
// Other lines on stdout, before the response of the call that caused them:
//   {"event": "messageQueued", "params": {recipient, sender, data}}   every outbox item of a result
//   {"event": "channelUpdated", "channelResult": {...}}               every channel result of a call,
//                                                                     and the wallet's own channelUpdated events
// Requests run concurrently (the wallet serializes per channel itself).
//
// Calls:
//   init {dbName, host?, port?, user?, password?, privateKey, chainNetworkID?, skipEvmValidation?}
//        creates the database dbName (dropping a leftover of the same name), migrates it,
//        starts the wallet and adds privateKey as its signing key (before anything asks for an
//        address, or the wallet would make a random one): returns {signingAddress, participant}
//   destroy {drop?}  stops the wallet and drops its database (drop defaults to true)
//   any public method of the wallet, with params as its one argument, except
//     createChannels {params, n}, joinChannels/closeChannels/syncChannels {channelIds},
//     updateFundingForChannels {updates}
//   storedStates {channelId}  the channel's signed states as its database holds them
// On end of stdin the driver destroys the wallet, drops its database and exits.
'use strict';

const readline = require('readline');

// Keep stdout for the protocol: anything the wallet or its libraries print goes to stderr.
const out = process.stdout;
console.log = console.error;
console.info = console.error;
console.debug = console.error;

// The pg that the wallet's knex loads (npm installs it as knex's peer; the wallet's own
// pg 7.17.1 never connects on Node 14+), for CREATE/DROP DATABASE.
const pg = require('pg');
const {Wallet} = require('@statechannels/server-wallet/lib/src/wallet');

let wallet;
let dbConfig;

function send(obj) {
  out.write(JSON.stringify(obj) + '\n');
}

function report(result) {
  if (!result || typeof result !== 'object') return;
  for (const m of result.outbox || []) send({event: 'messageQueued', params: m.params});
  const crs = result.channelResults || (result.channelResult ? [result.channelResult] : []);
  for (const cr of crs) send({event: 'channelUpdated', channelResult: cr});
}

async function admin(sql) {
  const c = new pg.Client({
    host: dbConfig.host,
    port: dbConfig.port,
    user: dbConfig.user,
    password: dbConfig.password,
    database: 'postgres',
  });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function quoteIdent(name) {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

async function init(p) {
  if (wallet) throw new Error('init: already initialized');
  dbConfig = {
    dbName: p.dbName,
    host: p.host || '127.0.0.1',
    port: p.port || 5432,
    user: p.user || 'postgres',
    password: p.password,
  };
  const db = quoteIdent(p.dbName);
  await admin(`DROP DATABASE IF EXISTS ${db}`);
  await admin(`CREATE DATABASE ${db}`);
  const connection = {dbName: dbConfig.dbName, host: dbConfig.host, port: dbConfig.port, user: dbConfig.user};
  if (dbConfig.password) connection.password = dbConfig.password;
  wallet = Wallet.create({
    databaseConfiguration: {connection, pool: p.pool},
    networkConfiguration: {chainNetworkID: p.chainNetworkID === undefined ? 1337 : p.chainNetworkID},
    // The key for chain transactions; the mock chain service (no rpcEndpoint) never uses it.
    ethereumPrivateKey: p.privateKey,
    skipEvmValidation: p.skipEvmValidation === undefined ? true : p.skipEvmValidation,
    workerThreadAmount: 0,
    loggingConfiguration: {logLevel: p.logLevel || 'error', logDestination: p.logDestination || '/dev/stderr'},
  });
  wallet.on('channelUpdated', v => {
    for (const m of v.outbox || []) send({event: 'messageQueued', params: m.params});
    send({event: 'channelUpdated', channelResult: v.channelResult});
  });
  await wallet.dbAdmin().migrateDB();
  await wallet.addSigningKey(p.privateKey);
  const signingAddress = await wallet.getSigningAddress();
  const participant = await wallet.getParticipant();
  return {signingAddress, participant};
}

async function destroy(p) {
  const drop = !p || p.drop === undefined ? true : p.drop;
  if (wallet) {
    const w = wallet;
    wallet = undefined;
    await w.destroy();
  }
  if (drop && dbConfig) {
    await admin(`DROP DATABASE IF EXISTS ${quoteIdent(dbConfig.dbName)}`);
  }
  return {};
}

async function call(name, params) {
  if (name === 'init') return init(params);
  if (name === 'destroy') return destroy(params);
  if (!wallet) throw new Error(`${name}: not initialized (call init first)`);
  switch (name) {
    case 'createChannels':
      return wallet.createChannels(params.params, params.n);
    case 'joinChannels':
      return wallet.joinChannels(params.channelIds);
    case 'closeChannels':
      return wallet.closeChannels(params.channelIds);
    case 'syncChannels':
      return wallet.syncChannels(params.channelIds);
    case 'updateFundingForChannels':
      return wallet.updateFundingForChannels(params.updates);
    case 'storedStates': {
      // The signed states as stored (vars: turnNum, isFinal, stateHash, signatures[{signer, signature}]).
      const row = await wallet.knex('channels').where({channel_id: params.channelId}).first('vars');
      if (!row) throw new Error(`storedStates: no channel ${params.channelId}`);
      return row.vars;
    }
    case 'getChannels':
    case 'getSigningAddress':
    case 'getParticipant':
      return wallet[name]();
  }
  const fns = [
    'createChannel', 'joinChannel', 'updateChannel', 'closeChannel', 'getState', 'syncChannel',
    'pushMessage', 'updateChannelFunding', 'registerAppBytecode', 'registerAppDefinition',
  ];
  if (!fns.includes(name)) throw new Error(`unknown call ${JSON.stringify(name)}`);
  if (name === 'registerAppBytecode') return wallet.registerAppBytecode(params.appDefinition, params.bytecode);
  if (name === 'registerAppDefinition') return wallet.registerAppDefinition(params.appDefinition);
  return wallet[name](params);
}

function errorOf(e) {
  // PushMessageError wraps the cause; report both messages.
  const err = {name: (e && e.constructor && e.constructor.name) || (e && e.name) || 'Error', message: String((e && e.message) || e)};
  const cause = e && ((e.data && e.data.cause) || e.cause);
  if (cause) err.cause = String(cause.message || cause);
  return err;
}

let pending = 0;
let ended = false;

async function finish() {
  try {
    await destroy({drop: true});
  } catch (e) {
    console.error('driver: destroy at end of input:', e);
  }
  process.exit(0);
}

const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on('line', line => {
  if (!line.trim()) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    send({id: null, error: {name: 'ParseError', message: String(e.message)}});
    return;
  }
  pending++;
  Promise.resolve()
    .then(() => call(req.call, req.params || {}))
    .then(
      result => {
        report(result);
        send({id: req.id, result: result === undefined ? null : result});
      },
      e => send({id: req.id, error: errorOf(e)})
    )
    .finally(() => {
      pending--;
      if (ended && pending === 0) finish();
    });
});
rl.on('close', () => {
  ended = true;
  if (pending === 0) finish();
});
