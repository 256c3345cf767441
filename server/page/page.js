// The operator's page: one WebSocket to /api carrying JSON-RPC 2.0. It asks
// for the wallet's information and its channels once connected, then follows
// the server's notifications (ChannelProposed, ChannelUpdated, ChannelClosed,
// MessageQueued, MessageReceived; after NotificationsDropped it asks again).
// Everything that comes from the server is written with textContent, never
// parsed as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "nitrowallet.token";
  const MAX_MESSAGES = 20;
  const RETRY_MS = 2000;
  const STATUSES = ["proposed", "opening", "funding", "running", "challenging", "responding", "closing", "closed"];

  const $ = (id) => document.getElementById(id);

  // channels maps a channel id to {result, seq, updated}; seq orders what
  // the page has seen, so a GetChannels answer cannot overwrite a newer
  // notification that overtook it.
  const channels = new Map();
  let seq = 0;
  const messages = []; // newest first: {dir, at, sender, recipient, data}

  let ws = null;
  let opened = false;
  let nextId = 1;
  const pending = new Map();
  let retryTimer = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setConn(state, text) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = text;
  }

  function setError(text) {
    $("error").textContent = text || "";
  }

  function apiURL() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + "/api";
  }

  // connect opens the WebSocket with the token as a subprotocol (browsers
  // cannot set an Authorization header on a WebSocket).
  function connect(token) {
    disconnect();
    let sock;
    try {
      sock = new WebSocket(apiURL(), ["nitrowallet", "bearer." + token]);
    } catch (e) {
      setConn("disconnected", "not connected");
      setError("This token cannot be sent (" + e.name + "): a token has no spaces or separators.");
      return;
    }
    ws = sock;
    opened = false;
    setConn("connecting", "connecting…");
    sock.onopen = () => {
      if (ws !== sock) return;
      opened = true;
      setError("");
      setConn("connected", "connected");
      load();
    };
    sock.onmessage = (ev) => {
      if (ws === sock) receive(ev.data);
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      failPending("the connection closed");
      if (!opened) {
        setConn("disconnected", "not connected");
        setError("The server refused the connection: check the token (or the server is down).");
        return;
      }
      setConn("reconnecting", "connection lost, reconnecting…");
      retryTimer = setTimeout(() => {
        retryTimer = null;
        const t = sessionStorage.getItem(TOKEN_KEY);
        if (t) connect(t);
      }, RETRY_MS);
    };
  }

  function disconnect() {
    if (retryTimer !== null) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (ws !== null) {
      const sock = ws;
      ws = null;
      sock.close();
    }
    failPending("disconnected");
  }

  function failPending(why) {
    for (const p of pending.values()) p.reject(new Error(why));
    pending.clear();
  }

  // call sends one JSON-RPC request and resolves with its result.
  function call(method, params) {
    return new Promise((resolve, reject) => {
      if (ws === null || ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  function receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      setError("The server sent a message that is not JSON.");
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m === null || typeof m !== "object") continue;
      if (typeof m.method === "string") {
        notified(m.method, m.params);
      } else if (pending.has(m.id)) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) {
          const err = new Error(String(m.error.message));
          err.code = m.error.code;
          err.method = p.method;
          p.reject(err);
        } else {
          p.resolve(m.result);
        }
      }
    }
  }

  function notified(method, params) {
    switch (method) {
      case "ChannelProposed":
      case "ChannelUpdated":
      case "ChannelClosed":
        if (upsert(params)) renderChannels();
        break;
      case "MessageQueued":
        addMessage("out", params);
        break;
      case "MessageReceived":
        addMessage("in", params);
        break;
      case "NotificationsDropped":
        // The server's feed overflowed: the table may be stale, so ask
        // again; the messages lost are lost.
        load();
        break;
    }
  }

  function callFailed(err) {
    const code = err.code !== undefined ? " (code " + err.code + ")" : "";
    setError((err.method ? err.method + ": " : "") + err.message + code);
  }

  // load asks for what the page shows after (re)connecting.
  function load() {
    const since = seq;
    call("GetWalletInformation", {}).then(showWallet, callFailed);
    call("GetChannels", { includeClosed: true }).then((list) => {
      let changed = false;
      for (const c of Array.isArray(list) ? list : []) changed = upsert(c, since) || changed;
      if (changed) renderChannels();
    }, callFailed);
  }

  function showWallet(info) {
    if (!info || typeof info !== "object") return;
    $("signing-address").textContent = info.signingAddress || "";
    $("destination-address").textContent = info.destinationAddress || "(none set)";
    $("wallet-version").textContent = info.walletVersion || "";
    $("wallet").hidden = false;
  }

  // upsert records a ChannelResult; with since, it keeps a newer entry.
  function upsert(c, since) {
    if (!c || typeof c !== "object" || typeof c.channelId !== "string") return false;
    const id = c.channelId.toLowerCase();
    const have = channels.get(id);
    if (since !== undefined && have && have.seq > since) return false;
    channels.set(id, { result: c, seq: ++seq, updated: new Date() });
    return true;
  }

  function short(hex) {
    const s = String(hex);
    return s.length > 14 ? s.slice(0, 8) + "…" + s.slice(-4) : s;
  }

  function amount(a) {
    try {
      return BigInt(a).toString();
    } catch (e) {
      return String(a);
    }
  }

  function time(d) {
    return d.toLocaleTimeString([], { hour12: false });
  }

  function renderChannels() {
    const body = $("channels").tBodies[0];
    const rows = [...channels.values()].sort((a, b) => b.seq - a.seq);
    body.replaceChildren(...rows.map(channelRow));
    $("channel-count").textContent = String(rows.length);
    $("no-channels").hidden = rows.length > 0;
  }

  function channelRow(entry) {
    const c = entry.result;
    const status = STATUSES.includes(c.status) ? c.status : "other";
    const tr = el("tr", "status-" + status);
    tr.dataset.channelId = c.channelId;
    tr.dataset.status = String(c.status);
    tr.dataset.turn = String(c.turnNum);
    tr.dataset.funding = String(c.fundingStatus);

    const id = el("td", "id");
    id.append(el("code", null, short(c.channelId)));
    id.title = c.channelId;

    const st = el("td", "status");
    st.append(el("span", "badge", c.status));
    if (c.challengeExpirationTime !== undefined) {
      st.append(el("span", "expiry", "expires " + new Date(Number(c.challengeExpirationTime) * 1000).toLocaleString()));
    }

    const names = new Map();
    for (const p of Array.isArray(c.participants) ? c.participants : []) {
      if (p && typeof p.destination === "string") names.set(p.destination.toLowerCase(), String(p.participantId));
    }
    const bal = el("td", "balances");
    for (const a of Array.isArray(c.allocations) ? c.allocations : []) {
      const asset = el("div", "asset");
      const holder = el("span", "holder", short(a.assetHolderAddress));
      holder.title = "asset holder " + a.assetHolderAddress;
      asset.append(holder);
      for (const item of Array.isArray(a.allocationItems) ? a.allocationItems : []) {
        const dest = String(item.destination);
        const who = names.get(dest.toLowerCase()) ?? short(dest);
        const b = el("span", "balance");
        b.dataset.participant = who;
        b.dataset.asset = String(a.assetHolderAddress);
        b.title = dest;
        b.append(el("span", "who", who), el("span", "amount", amount(item.amount)));
        asset.append(b);
      }
      bal.append(asset);
    }

    tr.append(id, st, el("td", "turn", c.turnNum), el("td", "funding", c.fundingStatus), bal, el("td", "updated", time(entry.updated)));
    return tr;
  }

  function addMessage(dir, m) {
    if (!m || typeof m !== "object") return;
    messages.unshift({ dir, at: new Date(), sender: m.sender, recipient: m.recipient, data: m.data });
    messages.length = Math.min(messages.length, MAX_MESSAGES);
    $("messages").replaceChildren(...messages.map(messageItem));
  }

  function messageItem(m) {
    const li = el("li", "msg " + m.dir);
    li.dataset.dir = m.dir;
    const route = (m.sender === undefined ? "?" : String(m.sender)) + " → " + String(m.recipient);
    li.append(el("span", "dir", m.dir), el("span", "time", time(m.at)), el("span", "route", route), el("span", "summary", summary(m.data)));
    return li;
  }

  // summary says what a wire message carries: its signed states by channel
  // and turn, its objectives and its requests.
  function summary(data) {
    let d = data;
    if (typeof d === "string") {
      try {
        d = JSON.parse(d);
      } catch (e) {
        return d.length + " bytes";
      }
    }
    if (!d || typeof d !== "object") return "";
    // The wallet's data is the whole wire message, {recipient, sender,
    // data}: the payload is one level down.
    if (d.signedStates === undefined && d.objectives === undefined && d.data && typeof d.data === "object") d = d.data;
    const parts = [];
    for (const s of Array.isArray(d.signedStates) ? d.signedStates : []) {
      if (!s || typeof s !== "object") continue;
      let p = "state " + short(s.channelId) + " turn " + s.turnNum;
      if (s.isFinal) p += " final";
      if (Array.isArray(s.signatures)) p += " (" + s.signatures.length + " sig" + (s.signatures.length === 1 ? "" : "s") + ")";
      parts.push(p);
    }
    for (const o of Array.isArray(d.objectives) ? d.objectives : []) {
      if (o && typeof o === "object") parts.push("objective " + o.type);
    }
    for (const r of Array.isArray(d.requests) ? d.requests : []) {
      if (r && typeof r === "object") parts.push("request " + r.type);
    }
    return parts.join(", ");
  }

  function clearAll() {
    channels.clear();
    messages.length = 0;
    renderChannels();
    $("messages").replaceChildren();
    $("wallet").hidden = true;
    for (const id of ["signing-address", "destination-address", "wallet-version"]) $(id).textContent = "";
  }

  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("token");
    const token = input.value.trim();
    input.value = "";
    if (token === "") {
      setError("Type the API token.");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    clearAll();
    connect(token);
  });

  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    disconnect();
    clearAll();
    setError("");
    setConn("disconnected", "not connected");
  });

  renderChannels();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) connect(saved);
})();
