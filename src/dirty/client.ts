// A one-request client of the dirty arbiter's socket, for the arbiter's
// control commands (show dirty, show all, dirty add|remove), which Gunicorn's
// ctl handlers answer by asking the dirty arbiter the same way.

import net from 'node:net';
import { FrameReader, frame, payloadOf, type Frame, type MessageType } from './protocol.js';
import { encode, type TlvValue } from './tlv.js';

/** Sends one message and resolves with the answer's type and payload; rejects on a connection error or after `timeoutMs`. */
export function askDirtyArbiter(
  socketPath: string,
  type: MessageType,
  payload: { [key: string]: TlvValue } | null,
  timeoutMs: number,
): Promise<{ type: MessageType; payload: { [key: string]: TlvValue } }> {
  return new Promise((resolve, reject) => {
    const id = Buffer.alloc(8);
    id.writeUInt32BE(1, 4);
    const sock = net.connect(socketPath);
    const reader = new FrameReader();
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('timed out'));
    }, timeoutMs);
    const done = (f: Frame) => {
      clearTimeout(timer);
      sock.destroy();
      try {
        resolve({ type: f.type, payload: payloadOf(f) });
      } catch (e) {
        reject(e as Error);
      }
    };
    sock.on('connect', () => sock.write(frame(type, id, payload ? encode(payload) : Buffer.alloc(0))));
    sock.on('data', (d: Buffer) => {
      try {
        const [first] = reader.push(d);
        if (first) done(first);
      } catch (e) {
        clearTimeout(timer);
        sock.destroy();
        reject(e as Error);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error('Connection closed'));
    });
  });
}
