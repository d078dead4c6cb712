import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { generateServingCerts, type Issued } from './x509.js';

export interface Listener {
  /** `https://127.0.0.1:PORT` or `http://…`. */
  url: string;
  /** The CA that signed the serving certificate (HTTPS only); it also verifies client certificates. */
  ca: Issued | undefined;
  /** Stops listening and destroys every connection, upgraded sockets included. */
  close(): Promise<void>;
}

/**
 * The API server's socket: HTTPS on loopback with a serving certificate from a fresh CA (client
 * certificates requested but not required, so token and certificate auth both work), or plain HTTP.
 * Every connection and upgraded socket is tracked, so close() leaves nothing open.
 */
export async function listen(
  o: { tls: boolean; port: number },
  onRequest: http.RequestListener,
  onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<Listener> {
  const certs = o.tls ? generateServingCerts() : undefined;
  const server = certs
    ? https.createServer(
        {
          cert: certs.server.certPem,
          key: certs.server.keyPem,
          ca: certs.ca.certPem,
          requestCert: true,
          rejectUnauthorized: false,
        },
        onRequest,
      )
    : http.createServer(onRequest);
  const sockets = new Set<Duplex>();
  const track = (s: Duplex) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    track(socket);
    socket.on('error', () => undefined);
    onUpgrade(req, socket, head);
  });
  server.on('connection', track);
  server.on('secureConnection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${certs ? 'https' : 'http'}://127.0.0.1:${port}`,
    ca: certs?.ca,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
