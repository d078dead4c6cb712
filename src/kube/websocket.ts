import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { BodyTooLargeError, HttpResponseError, ResponseReader, type ResponseHead } from './http1.js';

/**
 * A WebSocket client (RFC 6455) for one port-forward: the upgrade written by hand on the socket, the
 * answer read with the HTTP/1.1 reader, then frames decoded in place. `ws` did the same work through an
 * http.ClientRequest for the upgrade and a Writable stream for its frame parser, which cost more CPU
 * per pod than reading the proxy's answer; this client does only what a port-forward uses: binary and
 * text messages, fragments, ping/pong, close. No extensions are offered (no permessage-deflate).
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A frame the server should not have sent (RFC 6455 §5). */
export class WebSocketFrameError extends Error {}

/** The upgrade was answered with 101 but not as RFC 6455 §4.1 requires. */
export class WebSocketHandshakeError extends Error {}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * Decodes server-to-client frames from bytes in pieces. Server frames are never masked; control frames
 * are short and whole; reserved bits and opcodes are refused (no extension was negotiated).
 */
export class FrameReader {
  private pending: Buffer | undefined;

  constructor(private readonly maxPayload: number) {}

  /** The frames completed by `data`, in order. Throws WebSocketFrameError. */
  push(data: Buffer): Frame[] {
    const b = this.pending ? Buffer.concat([this.pending, data]) : data;
    this.pending = undefined;
    const frames: Frame[] = [];
    let at = 0;
    while (b.length - at >= 2) {
      const b0 = b[at] as number;
      const b1 = b[at + 1] as number;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (b0 & 0x70) throw new WebSocketFrameError('a frame with reserved bits set');
      if (b1 & 0x80) throw new WebSocketFrameError('a masked frame from the server');
      const control = opcode >= 8;
      if (!(opcode <= 2 || (opcode >= 8 && opcode <= 10)))
        throw new WebSocketFrameError(`a frame with unknown opcode ${opcode}`);
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (b.length - at < 4) break;
        len = b.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (b.length - at < 10) break;
        const hi = b.readUInt32BE(at + 2);
        if (hi > 0x1fffff) throw new WebSocketFrameError('a frame longer than 2^53 bytes');
        len = hi * 2 ** 32 + b.readUInt32BE(at + 6);
        head = 10;
      }
      if (control && (len > 125 || !fin))
        throw new WebSocketFrameError('a control frame that is fragmented or longer than 125 bytes');
      if (len > this.maxPayload)
        throw new WebSocketFrameError(`a frame longer than ${this.maxPayload} bytes`);
      if (b.length - at < head + len) break;
      frames.push({ fin, opcode, payload: b.subarray(at + head, at + head + len) });
      at += head + len;
    }
    if (at < b.length) this.pending = b.subarray(at);
    return frames;
  }
}

/** A masked client frame (RFC 6455 §5.3: every client frame is masked with a fresh key). */
export function encodeFrame(
  opcode: number,
  payload: Buffer,
  mask: Buffer = randomFillSync(Buffer.alloc(4)),
): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  mask.copy(out, head, 0, 4);
  for (let i = 0; i < n; i++) out[head + 4 + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return out;
}

export interface WebSocketHandlers {
  /** The upgrade succeeded with `protocol`. */
  onOpen(): void;
  /** A whole data message (binary or text, fragments joined), as bytes. */
  onMessage(data: Buffer): void;
  /** The server closed (a close frame, or the connection ended). Called once, and only after onOpen. */
  onClose(): void;
  /** Not upgraded: the server's answer, body and all. */
  onRefused(head: ResponseHead, body: Buffer): void;
  /** A socket or TLS error, a malformed answer or frame; `stage` says whether it came before the upgrade. */
  onError(e: Error, stage: 'upgrade' | 'open'): void;
}

export interface WebSocketOptions {
  /** `ws:` or `wss:` URL: its host, port, path and query. */
  url: URL;
  protocol: string;
  headers: Record<string, string>;
  /** Opens the connection (TLS for wss:); writes before it is up are queued by the socket. */
  connect: (o: { host: string; port: number; servername?: string }) => Duplex;
  /** Bounds the body of a refusal and each message. */
  maxBytes: number;
}

/** A client WebSocket: `send` binary messages, `destroy` to tear it down (no close handshake). */
export interface ClientWebSocket {
  send(data: Buffer): void;
  destroy(): void;
}

/** Opens a WebSocket and reports through `h`; after `destroy` nothing more is reported. */
export function openWebSocket(o: WebSocketOptions, h: WebSocketHandlers): ClientWebSocket {
  const key = randomBytes(16).toString('base64');
  const host = o.url.hostname.startsWith('[') ? o.url.hostname.slice(1, -1) : o.url.hostname;
  const port = Number(o.url.port) || (o.url.protocol === 'wss:' ? 443 : 80);
  const lines = [
    `GET ${o.url.pathname}${o.url.search} HTTP/1.1`,
    `Host: ${o.url.host}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${key}`,
    `Sec-WebSocket-Protocol: ${o.protocol}`,
  ];
  for (const [name, value] of Object.entries(o.headers)) {
    // What node's http client refuses too: a header that would split the request.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value) || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name))
      throw new TypeError(`invalid character in the ${JSON.stringify(name)} header of the upgrade request`);
    lines.push(`${name}: ${value}`);
  }
  const socket = o.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) });
  socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

  let state: 'upgrade' | 'open' | 'done' = 'upgrade';
  const answer = new ResponseReader({ maxBodyBytes: o.maxBytes });
  const frames = new FrameReader(o.maxBytes);
  let message: Buffer[] = [];
  let messageSize = 0;

  const stop = (): void => {
    state = 'done';
    socket.destroy();
  };
  const fail = (e: Error): void => {
    if (state === 'done') return;
    const stage = state;
    stop();
    h.onError(e, stage);
  };
  const close = (): void => {
    if (state !== 'open') return;
    stop();
    h.onClose();
  };

  const onFrames = (data: Buffer): void => {
    for (const f of frames.push(data)) {
      if (state !== 'open') return;
      if (f.opcode === 8) return close();
      if (f.opcode === 9) {
        socket.write(encodeFrame(10, f.payload));
        continue;
      }
      if (f.opcode === 10) continue;
      if (f.opcode === 0) {
        if (message.length === 0) throw new WebSocketFrameError('a continuation frame with no message');
      } else if (message.length > 0) throw new WebSocketFrameError('a new message inside a fragmented one');
      if (f.fin && message.length === 0) {
        h.onMessage(f.payload);
        continue;
      }
      messageSize += f.payload.length;
      if (messageSize > o.maxBytes)
        throw new WebSocketFrameError(`a message longer than ${o.maxBytes} bytes`);
      message.push(f.payload);
      if (f.fin) {
        const whole = Buffer.concat(message, messageSize);
        message = [];
        messageSize = 0;
        h.onMessage(whole);
      }
    }
  };

  const upgraded = (head: ResponseHead): void => {
    const hd = head.headers;
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    if (String(hd.upgrade ?? '').toLowerCase() !== 'websocket')
      throw new WebSocketHandshakeError('the 101 answer does not upgrade to websocket');
    if (hd['sec-websocket-accept'] !== accept)
      throw new WebSocketHandshakeError('the 101 answer has a wrong Sec-WebSocket-Accept');
    if (hd['sec-websocket-protocol'] !== o.protocol)
      throw new WebSocketHandshakeError(
        hd['sec-websocket-protocol'] === undefined
          ? `the server chose no subprotocol (asked for ${o.protocol})`
          : `the server chose subprotocol ${String(hd['sec-websocket-protocol'])} (asked for ${o.protocol})`,
      );
    if (hd['sec-websocket-extensions'] !== undefined)
      throw new WebSocketHandshakeError('the server chose an extension none was offered for');
  };

  socket.on('data', (data: Buffer) => {
    try {
      if (state === 'upgrade') {
        if (!answer.push(data)) return;
        const head = answer.head as ResponseHead;
        if (head.statusCode !== 101) {
          stop();
          return h.onRefused(head, answer.body());
        }
        upgraded(head);
        state = 'open';
        h.onOpen();
        const rest = answer.rest;
        if (rest && rest.length > 0 && state === 'open') onFrames(rest);
      } else if (state === 'open') onFrames(data);
    } catch (e) {
      fail(
        e instanceof BodyTooLargeError
          ? new HttpResponseError(`the API server's answer to the upgrade is larger than ${e.max} bytes`)
          : (e as Error),
      );
    }
  });
  const ended = (): void => {
    if (state === 'open') return close();
    if (state !== 'upgrade') return;
    // A refusal whose body runs to the close is complete now; anything else was cut short.
    if (answer.end() && answer.head && answer.head.statusCode !== 101) {
      stop();
      return h.onRefused(answer.head, answer.body());
    }
    const e = new Error('socket hang up') as NodeJS.ErrnoException;
    e.code = 'ECONNRESET';
    fail(e);
  };
  socket.on('end', ended);
  socket.on('close', ended);
  socket.on('error', (e: Error) => fail(e));

  return {
    send(data) {
      if (state === 'open') socket.write(encodeFrame(2, data));
    },
    destroy: stop,
  };
}
