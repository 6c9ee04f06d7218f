/** trackInFlight: what a shutdown waits for (src/transport/in-flight.ts), over the SDK's in-memory transport. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { trackInFlight } from '../../src/transport/in-flight.ts';

async function pair() {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const received: JSONRPCMessage[] = [];
  server.onmessage = (m) => received.push(m);
  await client.start();
  await server.start();
  return { client, server, received, inFlight: trackInFlight(server) };
}

const call = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'tools/call', params: { name: 'x', arguments: {} } });

test('requests count until answered (result or error); notifications and the answers to other ids do not', async () => {
  const { client, server, received, inFlight } = await pair();
  await client.send(call(1));
  await client.send(call(2));
  await client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(received.length, 3, 'messages still reach the server');
  assert.equal(inFlight.size, 2);
  await server.send({ jsonrpc: '2.0', id: 7, result: {} });
  assert.equal(inFlight.size, 2);
  const drained = inFlight.drained(5_000);
  await server.send({ jsonrpc: '2.0', id: 1, result: {} });
  assert.equal(inFlight.size, 1);
  await server.send({ jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'failed' } });
  assert.equal(await drained, true);
  assert.equal(inFlight.size, 0);
  assert.equal(await inFlight.drained(0), true, 'nothing in flight: at once');
});

test('a cancelled request needs no answer; a drain that times out says so', async () => {
  const { client, inFlight } = await pair();
  await client.send(call(1));
  await client.send(call(2));
  await client.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, reason: 'user' } });
  assert.equal(inFlight.size, 1);
  const started = performance.now();
  assert.equal(await inFlight.drained(50), false);
  assert.ok(performance.now() - started >= 45);
});
