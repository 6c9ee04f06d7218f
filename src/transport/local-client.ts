/**
 * The hook's side of the local socket (see local-socket.ts): the SDK's MCP client over a Unix
 * socket, framed like stdio with the SDK's own ReadBuffer and serializeMessage.
 *
 * Loaded lazily by `sage hook prompt`, only once a Sage has accepted the connection: the SDK
 * client is not needed by any other command (in the start-up snapshot it would slow every start
 * down), and a hook with no Sage to ask should not pay for loading it.
 */
import type { Socket } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SAGE_VERSION } from '../version.ts';
import { LOCAL_SOCKET_MAX_MESSAGE_BYTES } from './local-socket.ts';

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

/**
 * An MCP client on a socket connected to a running Sage (local-socket.ts `connectLocalSocket`).
 * Rejects when the Sage does not answer initialize in time; the caller falls back to the database.
 */
export async function connectLocal(socket: Socket, timeoutMs: number): Promise<Client> {
  const client = new Client({ name: 'sage-hook', version: SAGE_VERSION });
  try {
    await client.connect(new SocketClientTransport(socket), { timeout: timeoutMs });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return client;
}
