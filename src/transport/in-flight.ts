/**
 * Which of a client's requests a transport is still answering, so that a shutdown lets them
 * finish. A client that sends its last call and closes its end — a script piping requests into
 * `sage stdio`, a client quitting right after a save — must still have that call carried out:
 * before, stdin's end closed the server at once and the save in flight was lost without a word.
 * `sage serve` drains its in-flight requests the same way (transport/http.ts).
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CancelledNotificationSchema, isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse, type RequestId } from '@modelcontextprotocol/sdk/types.js';

export interface InFlight {
  /** Requests received and not answered yet. */
  readonly size: number;
  /** Resolves true once no request is in flight, false if `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean>;
}

/**
 * Counts the requests `transport` delivers and the answers sent back. Call it after the server
 * is connected: it wraps the message callback the server installed and the transport's send.
 * A request the client cancels (notifications/cancelled) needs no answer and stops counting.
 */
export function trackInFlight(transport: Transport): InFlight {
  const pending = new Set<RequestId>();
  const waiters: (() => void)[] = [];
  const settle = (id: RequestId) => {
    if (pending.delete(id) && pending.size === 0) for (const wake of waiters.splice(0)) wake();
  };
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message)) pending.add(message.id);
    else if (isJSONRPCNotification(message)) {
      const cancelled = CancelledNotificationSchema.safeParse(message);
      if (cancelled.success && cancelled.data.params.requestId !== undefined) settle(cancelled.data.params.requestId);
    }
    deliver?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const sent = send(message, options);
    // Settled when the answer is handed over, not when the write completes: the stdio transport's
    // send never settles once the reader is gone (it waits for a 'drain' that does not come),
    // and the work is done either way. Writes to a pipe or file complete before the process exits.
    if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) settle(message.id);
    return sent;
  };
  return {
    get size() {
      return pending.size;
    },
    drained(timeoutMs: number) {
      if (pending.size === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
  };
}
