import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { ClusterError } from '../errors.js';
import { timerDelay } from '../options/duration.js';
import { BodyTooLargeError, ResponseReader } from './http1.js';
import {
  openWebSocket,
  WebSocketFrameError,
  WebSocketHandshakeError,
  type ClientWebSocket,
} from './websocket.js';
import { ApiError, type KubeClient, type KubeStatus } from './rest.js';

/**
 * The last session ticket per client, shared by its port-forwards (over the client's one TLS context,
 * `KubeClient.secureContext`). A scrape opens one WebSocket per pod, and a full handshake each time (a
 * new SecureContext parsing the CA, the peer's chain decoded for checkServerIdentity) was a third of
 * egressctl's CPU per pod. A resumed session skips both: node verifies the server's identity on the
 * full handshake the ticket came from (lib/_tls_wrap.js onConnectSecure checks `isSessionReused()`).
 */
interface TlsReuse {
  session?: Buffer;
}
const tlsReuse = new WeakMap<KubeClient, TlsReuse>();

/**
 * The ticket is set on the socket right after tls.connect, not passed as its `session` option: node
 * decodes an option's ticket twice (in the socket's _init and again in connect), and each decode parses
 * the server's certificate inside it with OpenSSL 3's slow key decoders, half a millisecond of CPU per
 * pod. It is still before the TCP connect, so the ClientHello offers it. (Undeclared in @types/node;
 * without it, the option.)
 */
const setSession = (tls.TLSSocket.prototype as { setSession?: (session: Buffer) => void }).setSession;

function connectTls(client: KubeClient): (options: tls.ConnectionOptions) => tls.TLSSocket {
  let reuse = tlsReuse.get(client);
  if (!reuse) tlsReuse.set(client, (reuse = {}));
  const r = reuse;
  return (options) => {
    // As ws's own tlsConnect: SNI is the host name, never an IP address.
    const servername = options.servername ?? (net.isIP(options.host ?? '') ? '' : options.host);
    const late = r.session !== undefined && setSession !== undefined;
    const socket = tls.connect({
      ...options,
      path: undefined,
      servername,
      secureContext: client.secureContext,
      ...(r.session && !late ? { session: r.session } : {}),
    });
    if (late) setSession.call(socket, r.session as Buffer);
    socket.on('session', (session: Buffer) => (r.session = session));
    return socket;
  };
}

/**
 * The whole body at once, synchronously: for a few hundred KB, zlib's asynchronous stream (a thread-pool
 * round trip and a callback per 16 KB of output) cost five times the CPU of one inflate call. Bounded by
 * `max`, so a small gzip body cannot inflate past it.
 */
function gunzipBounded(raw: Buffer, max: number): Buffer {
  // The trailer's ISIZE (RFC 1952) is the size mod 2^32: one output chunk of just that size, so a body
  // keeps no spare capacity alive (a guess of 32x the input did, 60 MB for proxy-metrics --all).
  const isize = raw.length >= 18 ? raw.readUInt32LE(raw.length - 4) : 0;
  return zlib.gunzipSync(raw, {
    chunkSize: Math.min(max, Math.max(64 << 10, isize + 1)),
    maxOutputLength: max,
  });
}

/** The subprotocol the kubelet (and CRI streaming servers) speak for port-forward over WebSocket. */
export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';

export interface ForwardedResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** The body, gunzipped when the proxy sent it gzip-encoded. */
  body: Buffer;
}

export interface ForwardOptions {
  /** Time to complete the WebSocket handshake with the API server. */
  connectTimeoutMs: number;
  /** Deadline for the whole exchange: handshake, request and the complete response. */
  deadlineMs: number;
  signal?: AbortSignal | undefined;
  /** Upper bound on the (decompressed) body, so a runaway response cannot exhaust memory. */
  maxBodyBytes?: number;
}

/**
 * `GET path` on `port` of a pod, through the API server's `pods/portforward` subresource over a
 * WebSocket (`v4.channel.k8s.io`), without a local listener.
 *
 * client-node's `PortForward` loses the API server's Status on 4xx, swallows the kubelet's error
 * channel, never ends its output stream and has no handshake timeout (kubernetes-client/javascript
 * `src/portforward.ts` and `src/web-socket-handler.ts`). This
 * one reports each of those as a one-line error, always settles by the deadline, and always closes the
 * socket.
 */
export function forwardHttpGet(
  client: KubeClient,
  namespace: string,
  pod: string,
  port: number,
  path: string,
  opts: ForwardOptions,
): Promise<ForwardedResponse> {
  const who = `pod ${namespace}/${pod}`;
  const url = client.url(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward`,
    {
      ports: port,
    },
  );
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

  // The caller's signal (a scrape round) and the client's (the command's deadline and Ctrl-C).
  const signal = opts.signal ? AbortSignal.any([opts.signal, client.signal]) : client.signal;
  return new Promise<ForwardedResponse>((resolve, reject) => {
    let ws: ClientWebSocket | undefined;
    let handshake: NodeJS.Timeout | undefined;
    let settled = false;
    let errorChannel = '';
    const seenPortPrefix = [false, false];
    const max = opts.maxBodyBytes ?? 256 << 20;
    const reader = new ResponseReader({ maxBodyBytes: max });
    const tooLarge = (): ClusterError =>
      new ClusterError(`${who}: the response on port ${port} is larger than ${max >> 20} MiB`);

    const finish = (err: Error | undefined, value?: ForwardedResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(handshake);
      signal.removeEventListener('abort', onAbort);
      ws?.destroy();
      if (err) reject(err);
      else resolve(value as ForwardedResponse);
    };
    const onAbort = (): void =>
      finish(
        client.signal.aborted
          ? client.abortError(`port-forward to ${who}`)
          : new ClusterError(`${who}: interrupted`),
      );
    const deadline = setTimeout(
      () =>
        finish(
          new ClusterError(
            `${who}: no complete answer from the proxy on port ${port} within ${opts.deadlineMs / 1000}s (raise --pod-timeout)`,
          ),
        ),
      timerDelay(opts.deadlineMs),
    );

    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    void client.conn
      .headers(signal)
      .then((headers) => {
        if (settled) return;
        const what = `port-forward to ${who}`;
        const tlsOptions = client.tlsOptions();
        const onMessage = (data: Buffer): void => {
          const channel = data[0];
          if (channel !== 0 && channel !== 1) return;
          let payload = data.subarray(1);
          // The first frame on each channel is the port number (2 bytes, little-endian).
          if (!seenPortPrefix[channel]) {
            seenPortPrefix[channel] = true;
            payload = payload.subarray(2);
          }
          if (channel === 1) {
            errorChannel += payload.toString('utf8');
            return;
          }
          if (payload.length === 0 || settled) return;
          let done: boolean;
          try {
            done = reader.push(payload);
          } catch (e) {
            return finish(
              e instanceof BodyTooLargeError
                ? tooLarge()
                : new ClusterError(
                    `${who}: the proxy on port ${port} sent a malformed HTTP response: ${(e as Error).message}`,
                  ),
            );
          }
          if (done) answer();
        };
        const onClose = (): void => {
          // The kubelet reports on the error channel and then closes: its text comes first.
          const fromChannel = errorFromChannel();
          if (fromChannel) return finish(fromChannel);
          if (reader.end()) return answer();
          finish(
            reader.head
              ? new ClusterError(
                  `${who}: the proxy closed the connection mid-response on port ${port} (got ${reader.received} bytes)`,
                )
              : new ClusterError(`${who}: the proxy closed the connection on port ${port} before answering`),
          );
        };
        handshake = setTimeout(
          () =>
            finish(
              new ClusterError(
                `${what}: the API server did not complete the WebSocket handshake within ${opts.connectTimeoutMs / 1000}s`,
              ),
            ),
          timerDelay(opts.connectTimeoutMs),
        );
        ws = openWebSocket(
          {
            url,
            protocol: PORT_FORWARD_PROTOCOL,
            headers: headers as Record<string, string>,
            connect:
              url.protocol === 'wss:'
                ? (o) =>
                    connectTls(client)({
                      ...tlsOptions,
                      host: o.host,
                      port: o.port,
                      servername: tlsOptions.servername ?? o.servername ?? '',
                    })
                : (o) => net.connect({ host: o.host, port: o.port }),
            maxBytes: max,
          },
          {
            onOpen: () => {
              clearTimeout(handshake);
              // One request, written whole into the first data frame; the reader takes the answer.
              ws?.send(
                Buffer.from(
                  `\0GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nAccept-Encoding: gzip\r\nConnection: close\r\nUser-Agent: egressctl\r\n\r\n`,
                  'latin1',
                ),
              );
            },
            onMessage,
            onClose,
            onRefused: (head, raw) => {
              const text = raw.toString('utf8');
              let status: KubeStatus | undefined;
              try {
                const j = JSON.parse(text) as KubeStatus;
                if (j?.kind === 'Status') status = j;
              } catch {
                // kubelet and some proxies answer in plain text
              }
              const code = head.statusCode;
              if (code === 403 && !text.trim()) {
                finish(
                  new ClusterError(
                    `${what}: the server refused the ${PORT_FORWARD_PROTOCOL} subprotocol (403 with no body)`,
                  ),
                );
              } else finish(new ApiError(code, status, text, what));
            },
            onError: (e, stage) => {
              if (e instanceof WebSocketFrameError)
                finish(new ClusterError(`${what}: the API server sent ${e.message}`));
              else if (
                e instanceof WebSocketHandshakeError ||
                (stage === 'upgrade' && !(e as NodeJS.ErrnoException).code)
              )
                finish(new ClusterError(`${what}: the WebSocket upgrade failed: ${e.message}`));
              else finish(client.networkError(e, what));
            },
          },
        );
      })
      // A failed credential plugin, or a throw while opening (a header the request cannot carry).
      .catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));

    /** The complete response: its body gunzipped when the proxy sent it gzip-encoded. */
    function answer(): void {
      const head = reader.head as NonNullable<typeof reader.head>;
      let body = reader.body();
      if (/\bgzip\b/i.test(String(head.headers['content-encoding'] ?? ''))) {
        try {
          body = gunzipBounded(body, max);
        } catch (e) {
          return finish(
            (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
              ? tooLarge()
              : new ClusterError(
                  `${who}: the gzip body from port ${port} is corrupt: ${(e as Error).message}`,
                ),
          );
        }
      }
      finish(undefined, { statusCode: head.statusCode, headers: head.headers, body });
    }

    function errorFromChannel(): ClusterError | undefined {
      const text = errorChannel.trim();
      if (!text) return undefined;
      return new ClusterError(`${who}: port-forward to port ${port} failed: ${text}`);
    }
  });
}
