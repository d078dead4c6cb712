import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/**
 * `pods/portforward` over SPDY/3.1, as kubectl speaks it: directly after an HTTP upgrade (`Upgrade:
 * SPDY/3.1`, kubectl before 1.31 and its fallback), or tunnelled in a WebSocket whose subprotocol is
 * `SPDY/3.1+portforward.k8s.io` (kubectl 1.31+, client-go `tools/portforward/tunneling_dialer.go`).
 * The framing is SPDY/3's (draft-mbelshe-httpbis-spdy-00: SYN_STREAM, SYN_REPLY, RST_STREAM, PING,
 * GOAWAY, DATA; header blocks zlib-compressed with the spec's dictionary, one zlib stream per direction),
 * as moby/spdystream implements it. The port-forward protocol on top (`portforward.k8s.io`, the kubelet's
 * `pkg/kubelet/cri/streaming/portforward/httpstream.go`): for each request id the client opens an
 * `error` and a `data` stream naming the port; the data stream carries the bytes, the error stream the
 * kubelet's message when it cannot connect.
 */

export const SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** The SPDY/3 header compression dictionary (the spec's section 2.6.10.1), 1423 bytes. */
const DICTIONARY = Buffer.from(
  'AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2Vw' +
    'dC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UA' +
    'AAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNl' +
    'AAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxv' +
    'Y2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAA' +
    'AAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAAN' +
    'aWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9j' +
    'YXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXph' +
    'dGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRy' +
    'YW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3' +
    'dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8x' +
    'LjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1' +
    'MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0' +
    'NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0' +
    'MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2Vy' +
    'dmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBK' +
    'dW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwg' +
    'R01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxp' +
    'Y2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRl' +
    'ZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==',
  'base64',
);

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

/** A byte pipe SPDY runs over: the upgraded socket, or the WebSocket's binary messages. */
export interface SpdyTransport {
  write(b: Buffer): void;
  onData(f: (b: Buffer) => void): void;
  onClose(f: () => void): void;
  close(): void;
}

/** What a port-forward request connects to: the pod's port as a Duplex, or the kubelet's error text. */
export type Dial = (port: number) => Duplex | string;

const controlFrame = (type: number, flags: number, data: Buffer): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(data.length, 4);
  h.writeUInt8(flags, 4);
  return Buffer.concat([h, data]);
};

const dataFrame = (stream: number, flags: number, data: Buffer): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(stream & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h.writeUInt8(flags, 4);
  return Buffer.concat([h, data]);
};

/** Feeds `chunk` to a persistent zlib stream and collects what a sync flush yields. */
function flushThrough(z: zlib.Inflate | zlib.Deflate, chunk: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (d: Buffer) => out.push(d);
    z.on('data', onData);
    z.once('error', reject);
    z.write(chunk);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', reject);
      resolve(Buffer.concat(out));
    });
  });
}

/** A header block's name/value pairs (SPDY/3: 32-bit counts and lengths). */
function parseHeaders(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 4;
  for (let n = b.readUInt32BE(0); n > 0; n--) {
    const nl = b.readUInt32BE(i);
    const name = b.subarray(i + 4, i + 4 + nl).toString('utf8');
    i += 4 + nl;
    const vl = b.readUInt32BE(i);
    out.set(name, b.subarray(i + 4, i + 4 + vl).toString('utf8'));
    i += 4 + vl;
  }
  return out;
}

/**
 * Serves port-forward over one SPDY session on `t`. Frames are handled in arrival order (header blocks
 * go through the session's zlib stream); every stream is answered with an empty SYN_REPLY.
 */
export function serveSpdyPortForward(t: SpdyTransport, dial: Dial): void {
  const inflate = zlib.createInflate({ dictionary: DICTIONARY });
  const deflate = zlib.createDeflate({ dictionary: DICTIONARY });
  inflate.on('error', () => t.close());
  deflate.on('error', () => t.close());
  let pending = Buffer.alloc(0);
  let queue = Promise.resolve();
  let closed = false;
  /** Per request id: its error and data stream ids, and the connection once both are open. */
  const requests = new Map<string, { error?: number; data?: number; port: number; conn?: Duplex }>();
  const byStream = new Map<number, string>();
  const send = (b: Buffer) => {
    if (!closed) t.write(b);
  };
  const emptyHeaders = Buffer.alloc(4);

  const reply = async (stream: number, fin: boolean) => {
    const block = await flushThrough(deflate, emptyHeaders);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(stream);
    send(controlFrame(SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([id, block])));
  };

  const start = (rid: string) => {
    const r = requests.get(rid);
    if (!r || r.error === undefined || r.data === undefined || r.conn) return;
    const [errorStream, dataStream] = [r.error, r.data];
    const target = dial(r.port);
    if (typeof target === 'string') {
      send(dataFrame(errorStream, FLAG_FIN, Buffer.from(target)));
      send(dataFrame(dataStream, FLAG_FIN, Buffer.alloc(0)));
      return;
    }
    r.conn = target;
    target.on('data', (d: Buffer) => send(dataFrame(dataStream, 0, d)));
    target.on('end', () => {
      send(dataFrame(dataStream, FLAG_FIN, Buffer.alloc(0)));
      send(dataFrame(errorStream, FLAG_FIN, Buffer.alloc(0)));
    });
    target.on('error', () => undefined);
  };

  const handle = async (frame: Buffer): Promise<void> => {
    const control = (frame[0] ?? 0) & 0x80;
    const flags = frame[4] ?? 0;
    const body = frame.subarray(8);
    if (!control) {
      const stream = frame.readUInt32BE(0) & 0x7fffffff;
      const r = requests.get(byStream.get(stream) ?? '');
      if (r && stream === r.data && r.conn) {
        if (body.length) r.conn.write(body);
        if (flags & FLAG_FIN) r.conn.end();
      }
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const stream = body.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaders(await flushThrough(inflate, body.subarray(10)));
      const rid = headers.get('requestid') ?? String(stream);
      const port = Number(headers.get('port'));
      const r = requests.get(rid) ?? { port };
      if (headers.get('streamtype') === 'error') r.error = stream;
      else r.data = stream;
      requests.set(rid, r);
      byStream.set(stream, rid);
      await reply(stream, false);
      start(rid);
    } else if (type === PING) send(controlFrame(PING, 0, body));
    else if (type === RST_STREAM) {
      const stream = body.readUInt32BE(0) & 0x7fffffff;
      requests.get(byStream.get(stream) ?? '')?.conn?.destroy();
    } else if (type === GOAWAY) t.close();
    // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do for port-forward.
  };

  t.onData((d) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 8) {
      const len = pending.readUInt32BE(4) & 0xffffff;
      if (pending.length < 8 + len) break;
      const frame = pending.subarray(0, 8 + len);
      pending = pending.subarray(8 + len);
      // A frame that cannot be read ends the session, as spdystream does.
      queue = queue.then(() => handle(frame)).catch(() => t.close());
    }
  });
  t.onClose(() => {
    closed = true;
    for (const r of requests.values()) r.conn?.destroy();
    inflate.close();
    deflate.close();
  });
}
