import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ResponseHead } from '../src/kube/http1.js';
import {
  encodeFrame,
  FrameReader,
  openWebSocket,
  WebSocketFrameError,
  type WebSocketHandlers,
} from '../src/kube/websocket.js';

/** A server frame (unmasked) as RFC 6455 §5.2 lays it out. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, n])
      : n < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 127, 0, 0, 0, 0]), u32(n)]);
  return Buffer.concat([head, payload]);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

test('FrameReader: 7-, 16- and 64-bit lengths, frames split at every byte, several frames in one push', () => {
  const big = Buffer.alloc(70_000, 7);
  const mid = Buffer.alloc(300, 3);
  const stream = Buffer.concat([
    serverFrame(2, Buffer.from('hi')),
    serverFrame(2, mid),
    serverFrame(2, big),
    serverFrame(8, Buffer.from([0x03, 0xe8])),
  ]);
  for (const cut of [1, 2, 3, 5, 9, 11, 300, 304, 70_000, stream.length - 1]) {
    const r = new FrameReader(1 << 20);
    const frames = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.fin, f.opcode, f.payload.length]),
      [
        [true, 2, 2],
        [true, 2, 300],
        [true, 2, 70_000],
        [true, 8, 2],
      ],
      `cut at ${cut}`,
    );
    assert.deepEqual(frames[1]?.payload, mid);
  }
  const oneByOne = new FrameReader(1 << 20);
  const got = [...serverFrame(2, Buffer.from('abc'))].flatMap((b) => oneByOne.push(Buffer.from([b])));
  assert.equal(got.length, 1);
  assert.equal(got[0]?.payload.toString(), 'abc');
});

test('FrameReader refuses what a server must not send', () => {
  const refuse = (b: Buffer, message: string, max = 1 << 20) => {
    const e = (() => {
      try {
        new FrameReader(max).push(b);
      } catch (x) {
        return x as Error;
      }
      return undefined;
    })();
    assert.ok(e instanceof WebSocketFrameError, message);
    assert.equal(e.message, message);
  };
  refuse(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0]), 'a masked frame from the server');
  refuse(Buffer.from([0xc2, 0x00]), 'a frame with reserved bits set');
  refuse(Buffer.from([0x83, 0x00]), 'a frame with unknown opcode 3');
  refuse(Buffer.from([0x09, 0x00]), 'a control frame that is fragmented or longer than 125 bytes');
  refuse(serverFrame(9, Buffer.alloc(126)), 'a control frame that is fragmented or longer than 125 bytes');
  refuse(serverFrame(2, Buffer.alloc(11)), 'a frame longer than 10 bytes', 10);
});

test('encodeFrame masks with the key, in the three length forms', () => {
  for (const n of [0, 5, 125, 126, 65535, 65536]) {
    const payload = Buffer.alloc(n, 0x5a);
    const mask = Buffer.from([1, 2, 3, 4]);
    const f = encodeFrame(2, payload, mask);
    assert.equal(f[0], 0x82);
    assert.equal((f[1] as number) & 0x80, 0x80, 'masked');
    const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const len = n < 126 ? (f[1] as number) & 0x7f : n < 65536 ? f.readUInt16BE(2) : f.readUInt32BE(6);
    assert.equal(len, n);
    assert.deepEqual(f.subarray(head, head + 4), mask);
    const body = f.subarray(head + 4);
    assert.ok(body.every((b, i) => (b ^ (mask[i & 3] as number)) === 0x5a));
  }
});

/** A ws server on loopback with a handler per test; `upgrade` may answer the upgrade itself. */
async function server(o: {
  onConnection?: (ws: WebSocket) => void;
  upgrade?: (socket: net.Socket, req: http.IncomingMessage) => boolean;
  protocol?: string | false;
}) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) =>
      o.protocol === undefined ? ([...offered][0] ?? false) : o.protocol,
  });
  const s = http.createServer();
  s.on('upgrade', (req, socket: net.Socket, head) => {
    if (o.upgrade?.(socket, req)) return;
    wss.handleUpgrade(req, socket, head, (ws) => o.onConnection?.(ws));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = new URL(`ws://127.0.0.1:${(s.address() as AddressInfo).port}/x?ports=1`);
  return {
    url,
    close: () => {
      for (const c of wss.clients) c.terminate();
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    },
  };
}

type Event = [string, ...unknown[]];
/** Opens a client against `url` and collects what it reports until it closes, fails or is refused. */
function run(url: URL, onOpen?: (send: (b: Buffer) => void) => void) {
  return new Promise<Event[]>((resolve) => {
    const events: Event[] = [];
    const h: WebSocketHandlers = {
      onOpen: () => {
        events.push(['open']);
        onOpen?.((b) => ws.send(b));
      },
      onMessage: (d) => events.push(['message', d.toString()]),
      onClose: () => resolve([...events, ['close']]),
      onRefused: (head: ResponseHead, body) =>
        resolve([...events, ['refused', head.statusCode, body.toString()]]),
      onError: (e, stage) => resolve([...events, ['error', stage, e.message]]),
    };
    const ws = openWebSocket(
      {
        url,
        protocol: 'v4.channel.k8s.io',
        headers: { Authorization: 'Bearer t' },
        connect: (c) => net.connect(c),
        maxBytes: 1 << 20,
      },
      h,
    );
  });
}

test('openWebSocket: subprotocol and headers sent, binary and text messages, fragments joined, ping answered, close', async () => {
  let auth = '';
  const s = await server({
    onConnection: (ws) => {
      ws.on('message', (m: Buffer) => {
        ws.send(Buffer.concat([Buffer.from('echo:'), m]));
        ws.send('text');
        // A fragmented binary message, with a ping between its fragments.
        ws.send(Buffer.from('frag'), { fin: false });
        ws.ping(Buffer.from('p'));
        ws.send(Buffer.from('ment'), { fin: true });
      });
      ws.on('pong', (p: Buffer) => {
        ws.send(`pong:${p.toString()}`);
        ws.close(1000);
      });
    },
    upgrade: (_socket, req) => {
      auth = String(req.headers.authorization);
      return false;
    },
  });
  try {
    const events = await run(s.url, (send) => send(Buffer.from('hello')));
    assert.deepEqual(events, [
      ['open'],
      ['message', 'echo:hello'],
      ['message', 'text'],
      ['message', 'fragment'],
      ['message', 'pong:p'],
      ['close'],
    ]);
    assert.equal(auth, 'Bearer t');
  } finally {
    await s.close();
  }
});

test('openWebSocket: a refusal with its body; a 101 with no subprotocol; a hang-up before any answer; a header that would split the request', async () => {
  const refusing = await server({
    upgrade: (socket) => {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"kind":"Status"}',
      );
      return true;
    },
  });
  const none = await server({ protocol: false });
  const hangs = await server({
    upgrade: (socket) => {
      socket.destroy();
      return true;
    },
  });
  try {
    assert.deepEqual(await run(refusing.url), [['refused', 403, '{"kind":"Status"}']]);
    // ws answers a protocol it cannot pick with a 101 without the header.
    assert.deepEqual(await run(none.url), [
      ['error', 'upgrade', 'the server chose no subprotocol (asked for v4.channel.k8s.io)'],
    ]);
    assert.deepEqual(await run(hangs.url), [['error', 'upgrade', 'socket hang up']]);
    assert.throws(
      () =>
        openWebSocket(
          {
            url: refusing.url,
            protocol: 'p',
            headers: { 'X-Bad': 'a\r\nInjected: 1' },
            connect: (c) => net.connect(c),
            maxBytes: 1,
          },
          {} as WebSocketHandlers,
        ),
      /invalid character in the "X-Bad" header/,
    );
  } finally {
    await Promise.all([refusing.close(), none.close(), hangs.close()]);
  }
});
