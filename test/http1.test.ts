import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { BodyTooLargeError, HttpResponseError, ResponseReader } from '../src/kube/http1.js';

const MB = 1 << 20;

/** Feeds `parts` one by one; returns the reader and the push that first reported completion (-1: none). */
function feed(parts: (string | Buffer)[], max = MB): { r: ResponseReader; doneAt: number } {
  const r = new ResponseReader({ maxBodyBytes: max });
  let doneAt = -1;
  parts.forEach((p, i) => {
    if (r.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : p) && doneAt < 0) doneAt = i;
  });
  return { r, doneAt };
}

/**
 * Every way of cutting `text` in two, fed as two pushes: the same result each time, complete at the
 * second push (at the first when the cut leaves nothing for the second).
 */
function everySplit(text: string, check: (r: ResponseReader) => void): void {
  for (let k = 0; k <= text.length; k++) {
    const { r, doneAt } = feed([text.slice(0, k), text.slice(k)]);
    assert.equal(doneAt, k === text.length ? 0 : 1, `cut at ${k}`);
    check(r);
  }
}

const errorOf = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  assert.fail('no error');
};

test('Content-Length: the body is exactly that many bytes, whatever the frames; bytes after it are ignored', () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';
  everySplit(text, (r) => {
    assert.equal(r.complete, true);
    assert.equal(r.head?.statusCode, 200);
    assert.equal(r.head?.statusMessage, 'OK');
    assert.equal(r.head?.headers['content-type'], 'text/plain');
    assert.equal(r.body().toString(), 'hello');
  });
  const extra = feed([`${text}GARBAGE`]);
  assert.equal(extra.doneAt, 0);
  assert.equal(extra.r.body().toString(), 'hello');
  assert.equal(feed(['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']).doneAt, 0);
});

test('a header split across frames, one byte per frame, and bare-LF line ends', () => {
  const text =
    'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A: 1\r\nX-A: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\nno\n';
  const { r, doneAt } = feed([...text]);
  assert.equal(doneAt, text.length - 1);
  assert.equal(r.head?.statusCode, 404);
  assert.equal(r.head?.headers['x-a'], '1, 2');
  assert.deepEqual(r.head?.headers['set-cookie'], ['a', 'b']);
  assert.equal(r.body().toString(), 'no\n');
  const lf = feed(['HTTP/1.0 200\nContent-Length: 2\n\nok']);
  assert.equal(lf.doneAt, 0);
  assert.equal(lf.r.head?.statusMessage, '');
  assert.equal(lf.r.body().toString(), 'ok');
});

test('chunked: sizes in hex with extensions, data split anywhere, trailers; complete only after the last chunk', () => {
  const text =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\nhello\r\nA\r\n, chunked!\r\n0\r\nTrailer: t\r\n\r\n';
  everySplit(text, (r) => {
    assert.equal(r.body().toString(), 'hello, chunked!');
    assert.equal(r.received, 15);
  });
  const cut = feed([text.slice(0, text.indexOf('0\r\n'))]);
  assert.equal(cut.doneAt, -1);
  assert.equal(cut.r.end(), false, 'a chunked body cut before its last chunk is short');
  assert.equal(cut.r.received, 15);
  // Chunked wins over Content-Length (RFC 9112 §6.3).
  const both = feed([
    'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  ]);
  assert.equal(both.doneAt, 0);
  assert.equal(both.r.body().toString(), 'ok');
});

test('chunked framing errors: a bad size, data longer than its size', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  assert.equal(errorOf(() => feed([`${head}zz\r\n`])).message, 'invalid chunk size "zz"');
  assert.equal(errorOf(() => feed([`${head}2\r\nokX\r\n`])).message, 'a chunk not followed by CRLF');
  assert.ok(errorOf(() => feed([`${head}2\r\nokX\r\n`])) instanceof HttpResponseError);
});

test('gzip: the reader hands back the bytes as sent; the caller inflates them', () => {
  const gz = zlib.gzipSync('# HELP x X.\nx 1\n');
  const { r, doneAt } = feed([
    `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`,
    gz.subarray(0, 7),
    gz.subarray(7),
  ]);
  assert.equal(doneAt, 2);
  assert.equal(r.head?.headers['content-encoding'], 'gzip');
  assert.equal(zlib.gunzipSync(r.body()).toString(), '# HELP x X.\nx 1\n');
});

test('a truncated body: end() says it is short and how much came; a body that runs to the close is complete', () => {
  const short = feed(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345']);
  assert.equal(short.doneAt, -1);
  assert.equal(short.r.end(), false);
  assert.equal(short.r.received, 5);
  const headOnly = feed(['HTTP/1.1 200 OK\r\nContent-Le']);
  assert.equal(headOnly.r.end(), false);
  assert.equal(headOnly.r.head, undefined);
  assert.equal(feed([]).r.end(), false, 'nothing at all');
  const toClose = feed(['HTTP/1.1 200 OK\r\n\r\nall ', 'of it']);
  assert.equal(toClose.doneAt, -1);
  assert.equal(toClose.r.end(), true);
  assert.equal(toClose.r.body().toString(), 'all of it');
  // A coding other than a final chunked runs to the close too.
  const gzipTe = feed(['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz']);
  assert.equal(gzipTe.r.end(), true);
  assert.equal(gzipTe.r.body().toString(), 'xyz');
});

test('status codes: 500 and 503 keep their bodies; 204 and 304 have none; 100 Continue is skipped; 101 stops at its head', () => {
  for (const [code, reason] of [
    [500, 'Internal Server Error'],
    [503, 'Service Unavailable'],
    [429, 'Too Many Requests'],
  ] as const) {
    const { r, doneAt } = feed([`HTTP/1.1 ${code} ${reason}\r\nContent-Length: 4\r\n\r\nbusy`]);
    assert.equal(doneAt, 0);
    assert.equal(r.head?.statusCode, code);
    assert.equal(r.head?.statusMessage, reason);
    assert.equal(r.body().toString(), 'busy');
  }
  for (const code of [204, 304]) {
    const { r, doneAt } = feed([`HTTP/1.1 ${code} X\r\nContent-Length: 4\r\n\r\n`]);
    assert.equal(doneAt, 0, `${code} has no body even with a Content-Length`);
    assert.equal(r.body().length, 0);
  }
  const cont = feed(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok']);
  assert.equal(cont.r.head?.statusCode, 200);
  assert.equal(cont.r.body().toString(), 'ok');
  const up = feed(['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00']);
  assert.equal(up.doneAt, 0);
  assert.equal(up.r.head?.statusCode, 101);
  assert.deepEqual(up.r.rest, Buffer.from([0x81, 0x00]));
});

test('a bad status line, a bad header, a bad or conflicting Content-Length: HttpResponseError naming it', () => {
  const cases: [string, string][] = [
    ['SSH-2.0-OpenSSH_9.6\r\n\r\n', 'bad status line "SSH-2.0-OpenSSH_9.6"'],
    ['HTTP/1.1 20 OK\r\n\r\n', 'bad status line "HTTP/1.1 20 OK"'],
    ['HTTP/2 200\r\n\r\n', 'bad status line "HTTP/2 200"'],
    ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 'bad header line "no colon here"'],
    ['HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', 'bad header line "Bad Name: x"'],
    ['HTTP/1.1 200 OK\r\n folded\r\n\r\n', 'bad header line " folded"'],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'invalid Content-Length "-1"'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n', 'invalid Content-Length "1, 2"'],
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'conflicting Content-Length "1" and "2"',
    ],
  ];
  for (const [text, message] of cases) {
    const e = errorOf(() => feed([text]));
    assert.ok(e instanceof HttpResponseError, text);
    assert.equal(e.message, message);
  }
  // Repeated equal lengths are one length.
  assert.equal(feed(['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx']).doneAt, 0);
});

test('limits: a body past maxBodyBytes (declared, chunked or to the close) and an endless head', () => {
  const tooBig = (parts: string[]) => {
    const e = errorOf(() => feed(parts, 4));
    assert.ok(e instanceof BodyTooLargeError);
    assert.equal(e.max, 4);
  };
  tooBig(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n']);
  tooBig(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\n']);
  tooBig(['HTTP/1.1 200 OK\r\n\r\nabc', 'de']);
  assert.equal(feed(['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd'], 4).r.body().toString(), 'abcd');
  const r = new ResponseReader({ maxBodyBytes: MB, maxHeadBytes: 64 });
  r.push(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(40)}`));
  const e = errorOf(() => r.push(Buffer.from('a'.repeat(40))));
  assert.ok(e instanceof HttpResponseError);
  assert.equal(e.message, 'headers longer than 64 bytes');
});
