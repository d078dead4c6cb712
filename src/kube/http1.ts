import type { IncomingHttpHeaders } from 'node:http';

/**
 * One HTTP/1.1 response read from bytes that arrive in pieces (a port-forward's data frames), for the
 * one GET sent on a tunnel. node's http client over a Duplex cost more CPU per pod than the whole
 * egress model: a ClientRequest, an IncomingMessage and two streams for a single exchange. This reads
 * the status line and headers, then the body as RFC 9112 §6.3 frames it: chunked, Content-Length, or
 * up to the close; no body for 1xx, 204 and 304. Interim 1xx answers are skipped, except 101, which
 * ends the response at its head (what follows belongs to the upgraded protocol: `rest`).
 */

/** A response that is not HTTP/1.1 as a server writes it; the message says what was wrong. */
export class HttpResponseError extends Error {}

/** The body (as framed, before any Content-Encoding is undone) would pass `maxBodyBytes`. */
export class BodyTooLargeError extends Error {
  constructor(readonly max: number) {
    super(`the body is larger than ${max} bytes`);
  }
}

export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  /** Lower-case names; a repeated header joined with ", " (set-cookie: an array). */
  headers: IncomingHttpHeaders;
}

export interface ResponseReaderOptions {
  maxBodyBytes: number;
  /** The status line and headers together (node's default --max-http-header-size is 16 KB). */
  maxHeadBytes?: number;
}

type Mode = 'head' | 'length' | 'close' | 'size' | 'data' | 'data-end' | 'trailers' | 'done';

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?$/;
/** RFC 9110 token characters: a field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_CHUNK_LINE = 4096;

/** Reads one response; `push` what arrives, `end` when the stream closes. */
export class ResponseReader {
  head: ResponseHead | undefined;
  /** Body bytes received so far (as framed: without chunk sizes). */
  received = 0;
  /** After a 101 head: the bytes that followed it. */
  rest: Buffer | undefined;
  private mode: Mode = 'head';
  /** Bytes of a line (head, chunk size, trailer) not yet complete. */
  private pending: Buffer | undefined;
  private left = 0;
  private readonly chunks: Buffer[] = [];
  private readonly maxHead: number;

  constructor(private readonly o: ResponseReaderOptions) {
    this.maxHead = o.maxHeadBytes ?? 64 << 10;
  }

  /** Whether the whole response is in. */
  get complete(): boolean {
    return this.mode === 'done';
  }

  /**
   * Feeds the next bytes. Returns true once the response is complete (bytes after it are ignored, or
   * kept in `rest` after a 101). Throws HttpResponseError or BodyTooLargeError.
   */
  push(data: Buffer): boolean {
    let at = 0;
    if (this.pending && this.mode !== 'done') {
      data = Buffer.concat([this.pending, data]);
      this.pending = undefined;
    }
    const n = data.length;
    while (at < n && this.mode !== 'done') {
      switch (this.mode) {
        case 'head': {
          const end = headEnd(data, at);
          if (end < 0) {
            if (n - at > this.maxHead)
              throw new HttpResponseError(`headers longer than ${this.maxHead} bytes`);
            this.pending = data.subarray(at);
            return false;
          }
          if (end - at > this.maxHead)
            throw new HttpResponseError(`headers longer than ${this.maxHead} bytes`);
          const head = parseHead(data.toString('latin1', at, end));
          at = end;
          const code = head.statusCode;
          if (code >= 100 && code < 200 && code !== 101) continue; // interim: the real head follows
          this.head = head;
          if (code === 101) {
            this.rest = data.subarray(at);
            this.mode = 'done';
            return true;
          }
          this.mode = this.framing(head);
          break;
        }
        case 'length':
        case 'data': {
          const take = Math.min(this.left, n - at);
          this.take(data.subarray(at, at + take));
          at += take;
          this.left -= take;
          if (this.left === 0) this.mode = this.mode === 'length' ? 'done' : 'data-end';
          break;
        }
        case 'close':
          this.take(data.subarray(at));
          at = n;
          break;
        case 'size':
        case 'data-end':
        case 'trailers': {
          const nl = data.indexOf(10, at);
          if (nl < 0) {
            if (n - at > MAX_CHUNK_LINE) throw new HttpResponseError('a chunk line longer than 4096 bytes');
            this.pending = data.subarray(at);
            return false;
          }
          const line = data.toString('latin1', at, nl > at && data[nl - 1] === 13 ? nl - 1 : nl);
          at = nl + 1;
          this.line(line);
          break;
        }
      }
    }
    return this.mode === 'done';
  }

  /**
   * The stream ended. Returns true when that completes the response (a body that runs to the close),
   * false when it was cut short: no head yet, or fewer bytes than Content-Length or the chunks promised.
   */
  end(): boolean {
    if (this.mode === 'close') this.mode = 'done';
    return this.mode === 'done';
  }

  /** The body as framed (chunks joined, Content-Encoding not undone). */
  body(): Buffer {
    return this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.received);
  }

  private take(b: Buffer): void {
    if (b.length === 0) return;
    this.received += b.length;
    if (this.received > this.o.maxBodyBytes) throw new BodyTooLargeError(this.o.maxBodyBytes);
    this.chunks.push(b);
  }

  private framing(head: ResponseHead): Mode {
    const code = head.statusCode;
    if (code === 204 || code === 304) return 'done';
    const te = head.headers['transfer-encoding'];
    if (te !== undefined) {
      // Only a final chunked coding delimits the body; any other runs to the close (RFC 9112 §6.3).
      const codings = String(te).toLowerCase().split(',');
      return codings[codings.length - 1]?.trim() === 'chunked' ? 'size' : 'close';
    }
    const cl = head.headers['content-length'];
    if (cl === undefined) return 'close';
    if (!/^\d+$/.test(cl)) throw new HttpResponseError(`invalid Content-Length "${cl.slice(0, 40)}"`);
    const len = Number(cl);
    if (len > this.o.maxBodyBytes) throw new BodyTooLargeError(this.o.maxBodyBytes);
    this.left = len;
    return len === 0 ? 'done' : 'length';
  }

  private line(text: string): void {
    if (this.mode === 'data-end') {
      if (text !== '') throw new HttpResponseError('a chunk not followed by CRLF');
      this.mode = 'size';
    } else if (this.mode === 'size') {
      const m = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$/.exec(text);
      if (!m) throw new HttpResponseError(`invalid chunk size "${text.slice(0, 40)}"`);
      const size = parseInt(m[1] as string, 16);
      if (this.received + size > this.o.maxBodyBytes) throw new BodyTooLargeError(this.o.maxBodyBytes);
      this.left = size;
      this.mode = size === 0 ? 'trailers' : 'data';
    } else if (text === '') this.mode = 'done'; // trailers end at an empty line; their fields are ignored
  }
}

/** The offset after the empty line that ends a head starting at `from` (`\r\n\r\n` or `\n\n`), or -1. */
function headEnd(b: Buffer, from: number): number {
  let i = b.indexOf(10, from);
  while (i >= 0) {
    const next = i + 1;
    if (b[next] === 10) return next + 1;
    if (b[next] === 13 && b[next + 1] === 10) return next + 2;
    if (next >= b.length || (b[next] === 13 && next + 1 >= b.length)) return -1;
    i = b.indexOf(10, next);
  }
  return -1;
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const status = lines[0] ?? '';
  const m = STATUS_LINE.exec(status);
  if (!m) throw new HttpResponseError(`bad status line ${JSON.stringify(status.slice(0, 80))}`);
  const headers = Object.create(null) as IncomingHttpHeaders;
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k] as string;
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name))
      throw new HttpResponseError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const had = headers[key];
    if (key === 'set-cookie') headers[key] = [...(had ?? []), value];
    else if (had === undefined) headers[key] = value;
    else if (key === 'content-length') {
      if (had !== value)
        throw new HttpResponseError(`conflicting Content-Length "${String(had)}" and "${value}"`);
    } else headers[key] = `${String(had)}, ${value}`;
  }
  return { statusCode: Number(m[1]), statusMessage: m[2] ?? '', headers };
}
