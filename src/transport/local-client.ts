/**
 * The hook's side of the local socket (see local-socket.ts): the SDK's MCP client over a Unix
 * socket, framed like stdio with the SDK's own ReadBuffer and serializeMessage.
 *
 * Loaded lazily by `sage hook prompt`: the SDK client is not needed by any other command, and
 * what a module evaluates at load time would otherwise grow the start-up snapshot of all of them.
 */
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SAGE_VERSION } from '../version.ts';
import { LOCAL_SOCKET_MAX_MESSAGE_BYTES, privateDirProblem } from './local-socket.ts';

/** MCP client transport over a connected socket: one JSON-RPC message per line, as on stdio. */
class SocketClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #socket: Socket;
  readonly #buffer = new ReadBuffer({ maxBufferSize: LOCAL_SOCKET_MAX_MESSAGE_BYTES });

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  async start(): Promise<void> {
    this.#socket.on('data', (chunk: Buffer) => {
      try {
        this.#buffer.append(chunk);
        for (let message = this.#buffer.readMessage(); message !== null; message = this.#buffer.readMessage()) this.onmessage?.(message);
      } catch (err) {
        this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        this.#socket.destroy();
      }
    });
    this.#socket.on('error', (err) => this.onerror?.(err));
    this.#socket.once('close', () => this.onclose?.());
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(serializeMessage(message), (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.#socket.destroy();
  }
}

/** Connects to the socket, or answers null when no Sage listens there (or the place is not private). */
function openSocket(socketPath: string): Promise<Socket | null> {
  if (privateDirProblem(path.dirname(socketPath)) !== null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => resolve(null));
  });
}

/**
 * An MCP client connected to the Sage on `socketPath`, or null when none listens. Errors after
 * the connection (a Sage that stops answering) reject; the caller falls back to the database.
 */
export async function connectLocal(socketPath: string, timeoutMs: number): Promise<Client | null> {
  const socket = await openSocket(socketPath);
  if (!socket) return null;
  const client = new Client({ name: 'sage-hook', version: SAGE_VERSION });
  try {
    await client.connect(new SocketClientTransport(socket), { timeout: timeoutMs });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return client;
}
