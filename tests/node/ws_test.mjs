// SPDX-License-Identifier: MIT
// ws_test.mjs - GET /v1/ws driven by Node's `ws` client against a running swarmd:
// subscriptions receive the events published with POST /v1/events in order, resume with
// "after", memory watches see PUT and DELETE, unsubscribe stops a stream, bad input gets an
// error message and the connection stays open, pings are answered, fragmented messages
// are put together, oversized ones close the connection with 1009, and clients that stop
// reading while 5,000 events are published neither hold back another client nor make the
// daemon's memory grow past their bounded queues.
//
// Usage: node ws_test.mjs SOCKET_PATH [DAEMON_PID]
//        node ws_test.mjs http://HOST:PORT [DAEMON_PID]   (token in $SWARM_TOKEN)
// Started by run.py, which starts the daemon in a temporary home.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';

const target = process.argv[2];
const daemonPid = process.argv[3] ? Number(process.argv[3]) : null;
// Under AddressSanitizer freed memory stays in quarantine: RSS says nothing then.
const measureRss = daemonPid !== null && process.env.SWARMD_SANITIZED !== '1';
if (!target) {
  console.error('usage: node ws_test.mjs SOCKET_PATH|http://HOST:PORT [DAEMON_PID]');
  process.exit(2);
}
const overTcp = target.startsWith('http://');
const token = process.env.SWARM_TOKEN || '';
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

// ---- HTTP ----

function request(method, path, body) {
  const options = { method, path, agent, headers: {} };
  if (overTcp) {
    const url = new URL(target);
    options.host = url.hostname;
    options.port = url.port;
  } else {
    options.socketPath = target;
  }
  if (token) options.headers.authorization = 'Bearer ' + token;
  const raw = body === undefined ? null : Buffer.from(JSON.stringify(body));
  if (raw) {
    options.headers['content-type'] = 'application/json';
    options.headers['content-length'] = raw.length;
  }
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('error', reject);
    req.end(raw);
  });
}

async function publish(type, data) {
  const r = await request('POST', '/v1/events', { type, data });
  assert.equal(r.status, 201, `POST /v1/events: ${r.status} ${r.text}`);
  return Number(r.json.id);
}

// ---- WebSocket client ----

function wsUrl() {
  if (overTcp) return target.replace(/^http:/, 'ws:') + '/v1/ws';
  return `ws+unix://${target}:/v1/ws`;
}

// A connection whose JSON messages are read in order with next().
class Client {
  constructor(ws) {
    this.ws = ws;
    this.messages = [];
    this.wakeup = null;
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'the server sent a binary message');
      this.messages.push(JSON.parse(data.toString()));
      if (this.wakeup) this.wakeup();
    });
    ws.on('error', (err) => { this.error = err; });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        resolve({ code, reason: reason.toString() });
        if (this.wakeup) this.wakeup();
      });
    });
  }

  static open() {
    const headers = token ? { authorization: 'Bearer ' + token } : {};
    const ws = new WebSocket(wsUrl(), { headers, maxPayload: 128 << 20 });
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  send(message) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  // The next message, in order; fails after timeoutMs.
  async next(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (this.closeCode !== undefined) throw new Error(`closed (${this.closeCode}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakeup = () => { clearTimeout(timer); resolve(); };
      });
      this.wakeup = null;
    }
    return this.messages.shift();
  }

  async expect(fields, timeoutMs) {
    const m = await this.next(timeoutMs);
    for (const [k, v] of Object.entries(fields))
      assert.deepEqual(m[k], v, `${k} of ${JSON.stringify(m)}`);
    return m;
  }

  async subscribe(id, filter, after) {
    const msg = { op: 'subscribe', id, filter };
    if (after !== undefined) msg.after = after;
    this.send(msg);
    return this.expect({ op: 'subscribed', id });
  }

  // count events of subscription sub, in order.
  async events(sub, count, timeoutMs = 30000) {
    const out = [];
    while (out.length < count) {
      const m = await this.next(timeoutMs);
      assert.equal(m.op, 'event', JSON.stringify(m));
      assert.equal(m.sub, sub);
      out.push(m.event);
    }
    return out;
  }

  close() {
    this.ws.close(1000);
    return this.closed;
  }
}

function rssBytes() {
  const status = fs.readFileSync(`/proc/${daemonPid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  assert.ok(m, 'no VmRSS in /proc/PID/status');
  return Number(m[1]) * 1024;
}

// ---- tests ----

test('events arrive in order, as CloudEvents, and resume with "after"', async () => {
  const c = await Client.open();
  const sub = await c.subscribe('s1', { type: 'wst.order.*' });
  assert.equal(typeof sub.after, 'number');
  const ids = [];
  for (let i = 0; i < 20; i++) {
    ids.push(await publish('wst.order.step', { i }));
    await publish('wst.other', { i }); // filtered out
  }
  const events = await c.events('s1', 20);
  events.forEach((ev, i) => {
    assert.equal(ev.specversion, '1.0');
    assert.equal(ev.type, 'wst.order.step');
    assert.equal(ev.id, String(ids[i]));
    assert.deepEqual(ev.data, { i });
    assert.ok(ev.time && ev.source);
  });
  assert.ok(Number(events[0].id) > sub.after);
  await c.close();

  // a new connection resumes after the 10th event
  const again = await Client.open();
  const resumed = await again.subscribe('r', { type: 'wst.order.step' }, ids[9]);
  assert.equal(resumed.after, ids[9]);
  const rest = await again.events('r', 10);
  assert.deepEqual(rest.map((ev) => Number(ev.id)), ids.slice(10));
  again.send({ op: 'unsubscribe', id: 'r' });
  await again.expect({ op: 'unsubscribed', id: 'r' });
  // filters by source and subject too
  const r = await request('POST', '/v1/events',
    { type: 'wst.order.step', source: '/wst/src', subject: 'sub-1', data: { i: 99 } });
  assert.equal(r.status, 201, r.text);
  await again.subscribe('bysource', { source: '/wst/*', subject: 'sub-1' }, ids[0]);
  const bySource = await again.expect({ op: 'event', sub: 'bysource' });
  assert.deepEqual(bySource.event, r.json);
  await again.close();
});

test('memory watch: changes after PUT and DELETE, resume with after_revision', async () => {
  const c = await Client.open();
  c.send({ op: 'watch', id: 'w1', ns: 'global', prefix: 'wst/' });
  const watching = await c.expect({ op: 'watching', id: 'w1' });
  assert.equal(typeof watching.after_revision, 'number');

  const put = await request('PUT', '/v1/memory/global/wst/k', { value: { v: 1 } });
  assert.ok(put.status === 201 || put.status === 200, put.text);
  const other = await request('PUT', '/v1/memory/global/elsewhere', { value: 2 });
  assert.equal(other.status, 201, other.text);
  const del = await request('DELETE', '/v1/memory/global/wst/k');
  assert.equal(del.status, 200, del.text);

  const first = await c.expect({ op: 'change', sub: 'w1' });
  assert.equal(first.change.op, 'put');
  assert.equal(first.change.ns, 'global');
  assert.equal(first.change.key, 'wst/k');
  assert.deepEqual(first.change.value, { v: 1 });
  assert.equal(first.change.revision, put.json.revision);
  const second = await c.expect({ op: 'change', sub: 'w1' });
  assert.equal(second.change.op, 'delete');
  assert.equal(second.change.key, 'wst/k');
  assert.equal(second.change.revision, del.json.revision);

  // from a revision: the put again, then the delete
  c.send({ op: 'watch', id: 'w2', ns: 'global', prefix: 'wst/', after_revision: put.json.revision - 1 });
  await c.expect({ op: 'watching', id: 'w2', after_revision: put.json.revision - 1 });
  assert.equal((await c.expect({ op: 'change', sub: 'w2' })).change.revision, put.json.revision);
  assert.equal((await c.expect({ op: 'change', sub: 'w2' })).change.revision, del.json.revision);
  await c.close();
});

test('unsubscribe ends a stream; the others go on', async () => {
  const c = await Client.open();
  await c.subscribe('a', { type: 'wst.unsub' });
  await c.subscribe('b', { type: 'wst.unsub' });
  c.send({ op: 'unsubscribe', id: 'a' });
  await c.expect({ op: 'unsubscribed', id: 'a' });
  const seq = await publish('wst.unsub', {});
  const m = await c.expect({ op: 'event', sub: 'b' });
  assert.equal(m.event.id, String(seq));
  c.send({ op: 'ping', id: 'after' });
  await c.expect({ op: 'pong', id: 'after' }); // nothing for "a" came in between
  c.send({ op: 'unsubscribe', id: 'a' });
  await c.expect({ op: 'error', id: 'a', code: 'not_found', field: 'id' });
  await c.close();
});

test('bad input gets an error naming the field; the connection stays open', async () => {
  const c = await Client.open();
  const cases = [
    ['{not json', { code: 'invalid_json' }],
    ['[1,2]', { code: 'invalid_json' }],
    [{ id: 'x' }, { code: 'missing_field', field: 'op', id: 'x' }],
    [{ op: 'fly', id: 'x' }, { code: 'invalid_field', field: 'op', id: 'x' }],
    [{ op: 'subscribe' }, { code: 'missing_field', field: 'id' }],
    [{ op: 'subscribe', id: 'f', filter: { type: 'a.*', foo: 'b' } },
      { code: 'unknown_field', field: 'filter.foo', id: 'f' }],
    [{ op: 'subscribe', id: 'f', filter: { type: 'a*b' } }, { code: 'invalid_field', field: 'filter.type' }],
    [{ op: 'subscribe', id: 'f', filter: 'all' }, { code: 'invalid_field', field: 'filter' }],
    [{ op: 'subscribe', id: 'f', after: -1 }, { code: 'invalid_field', field: 'after' }],
    [{ op: 'subscribe', id: 'f', extra: 1 }, { code: 'unknown_field', field: 'extra' }],
    [{ op: 'watch', id: 'w', ns: 'Not Valid' }, { code: 'invalid_field', field: 'ns' }],
    [{ op: 'watch', id: 'w' }, { code: 'missing_field', field: 'ns' }],
    [{ op: 'watch', id: 'w', ns: 'global', prefix: 'a*' }, { code: 'invalid_field', field: 'prefix' }],
    [{ op: 'unsubscribe' }, { code: 'missing_field', field: 'id' }],
  ];
  for (const [message, want] of cases) {
    c.send(message);
    const m = await c.expect({ op: 'error', ...want });
    assert.equal(typeof m.message, 'string');
    assert.ok(m.message.length > 0);
  }
  await c.subscribe('dup', {});
  c.send({ op: 'subscribe', id: 'dup' });
  await c.expect({ op: 'error', id: 'dup', code: 'invalid_field', field: 'id' });
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  await c.expect({ op: 'error', code: 'invalid_json' });
  // at most 64 subscriptions
  for (let i = 1; i < 64; i++) await c.subscribe('n' + i, { type: 'wst.none' });
  c.send({ op: 'subscribe', id: 'one-too-many' });
  await c.expect({ op: 'error', id: 'one-too-many', code: 'limit_exceeded' });
  c.send({ op: 'ping' });
  await c.expect({ op: 'pong' });
  await c.close();
});

test('pings: WebSocket ping frames and {"op":"ping"}', async () => {
  const c = await Client.open();
  const pong = new Promise((resolve) => c.ws.once('pong', (data) => resolve(data.toString())));
  c.ws.ping('hello');
  assert.equal(await pong, 'hello');
  c.send({ op: 'ping', id: 7 }); // a non-string id is refused
  await c.expect({ op: 'error', code: 'invalid_field', field: 'id' });
  c.send({ op: 'ping', id: 'p1' });
  await c.expect({ op: 'pong', id: 'p1' });
  await c.close();
});

test('fragmented messages are put together; over 1 MiB closes with 1009', async () => {
  const c = await Client.open();
  const text = JSON.stringify({ op: 'subscribe', id: 'frag', filter: { type: 'wst.frag' } });
  const cut = 10;
  c.ws.send(text.slice(0, cut), { fin: false });
  c.ws.send(text.slice(cut, cut + 20), { fin: false });
  c.ws.send(text.slice(cut + 20), { fin: true });
  await c.expect({ op: 'subscribed', id: 'frag' });
  const seq = await publish('wst.frag', { big: 'y'.repeat(200000) }); // a large event goes out whole
  const m = await c.expect({ op: 'event', sub: 'frag' });
  assert.equal(m.event.id, String(seq));
  assert.equal(m.event.data.big.length, 200000);

  c.send(JSON.stringify({ op: 'ping', pad: 'x'.repeat(1 << 20) }));
  const closed = await c.closed;
  assert.equal(closed.code, 1009);
});

// Publishes count events of type with 32 requests in flight.
async function flood(type, count, pad) {
  let next = 0;
  const publishers = Array.from({ length: 32 }, async () => {
    while (next < count) {
      const i = next++;
      await publish(type, { i, pad });
    }
  });
  await Promise.all(publishers);
}

test('clients that stop reading hold back nobody and their queues stay bounded', { timeout: 180000 }, async () => {
  const COUNT = 5000, STALLED = 6, PAD = 'p'.repeat(1000);
  const reader = await Client.open();
  // First floods bring the daemon to its steady size (the window of recent events is
  // bounded by --events-window; the store's cache and the allocator's arenas fill up).
  await reader.subscribe('warm', { type: 'wst.warm' });
  for (let round = 0, grown = Infinity; round < 6 && grown > 1048576; round++) {
    const before = measureRss ? rssBytes() : 0;
    const warm = reader.events('warm', COUNT, 60000);
    await flood('wst.warm', COUNT, PAD);
    await warm;
    grown = measureRss ? rssBytes() - before : 0;
  }
  reader.send({ op: 'unsubscribe', id: 'warm' });
  await reader.expect({ op: 'unsubscribed', id: 'warm' });

  await reader.subscribe('all', { type: 'wst.flood' });
  const stalled = [];
  for (let i = 0; i < STALLED; i++) {
    const s = await Client.open();
    await s.subscribe('stuck', { type: 'wst.flood' });
    s.ws.pause(); // stops reading the socket
    stalled.push(s);
  }
  const rssBefore = measureRss ? rssBytes() : 0;
  const received = reader.events('all', COUNT, 60000);
  await flood('wst.flood', COUNT, PAD);
  const events = await received;
  assert.equal(events.length, COUNT);
  for (let i = 1; i < COUNT; i++)
    assert.ok(Number(events[i].id) > Number(events[i - 1].id), 'events out of order');
  assert.equal(new Set(events.map((ev) => ev.data.i)).size, COUNT);

  if (measureRss) {
    const grown = rssBytes() - rssBefore;
    // Without backpressure each stalled client would hold every event (over 6 MiB each);
    // with it, each holds at most its 256 KiB queue (and what the socket buffers).
    console.log(`# daemon RSS grew by ${(grown / 1048576).toFixed(1)} MiB ` +
                `with ${STALLED} stalled clients x ${COUNT} events`);
    assert.ok(grown < 8 * 1048576, `the daemon grew by ${grown} bytes`);
  } else {
    console.log('# daemon RSS not measured (sanitizer build or no pid)');
  }

  // a stalled client that reads again gets everything, in order, from where it stood
  // (by now from the store: the window holds fewer events)
  const late = stalled.pop();
  late.ws.resume();
  const caughtUp = await late.events('stuck', COUNT, 60000);
  assert.deepEqual(caughtUp.map((ev) => ev.id), events.map((ev) => ev.id));
  await late.close();
  for (const s of stalled) {
    s.ws.resume();
    s.ws.terminate();
  }
  await reader.close();
});

test('a close from the client is answered with the same code', async () => {
  const c = await Client.open();
  await c.subscribe('s', {});
  c.ws.close(4001, 'bye');
  const closed = await c.closed;
  assert.equal(closed.code, 4001);
});

test.after(() => agent.destroy());
