import crypto from 'node:crypto';

/**
 * Just enough X.509 to give the sandbox's API server a CA and a serving certificate, generated in-process
 * (ECDSA P-256, a few milliseconds) with no openssl binary and no dependency: a DER encoder for the
 * handful of structures a TLS client checks.
 */

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const int = (b: Buffer) =>
  tlv(0x02, b[0] !== undefined && b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [a * 40 + b];
  for (const v of rest) {
    const chunk: number[] = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const body = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(body, 'ascii'));
}

/** A positive, minimally encoded serial number. */
function serial(): Buffer {
  const b = crypto.randomBytes(12);
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b;
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** IPv4 only: the sandbox listens on 127.0.0.1. */
const ipBytes = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));

export interface KeyPair {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
}

export interface Issued {
  certPem: string;
  keyPem: string;
  key: KeyPair;
}

function certificate(o: {
  subject: string;
  issuer: string;
  subjectKey: KeyPair;
  signer: crypto.KeyObject;
  ca: boolean;
  /** Extended key usage of a leaf: TLS server (default) or client authentication. */
  client?: boolean;
  dnsNames?: string[];
  ips?: string[];
  days: number;
}): string {
  const now = Date.now();
  const extensions: Buffer[] = [
    seq(oid('2.5.29.19'), bool(true), octets(o.ca ? seq(bool(true)) : seq())),
    // keyUsage: CA → keyCertSign + cRLSign; leaf → digitalSignature.
    seq(
      oid('2.5.29.15'),
      bool(true),
      octets(o.ca ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7)),
    ),
  ];
  if (!o.ca) {
    extensions.push(
      seq(oid('2.5.29.37'), octets(seq(oid(o.client ? '1.3.6.1.5.5.7.3.2' : '1.3.6.1.5.5.7.3.1')))),
    );
    const names = [
      ...(o.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
      ...(o.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ];
    extensions.push(seq(oid('2.5.29.17'), octets(seq(...names))));
  }
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))),
    int(serial()),
    ECDSA_SHA256,
    name(o.issuer),
    seq(time(new Date(now - 60_000)), time(new Date(now + o.days * 86_400_000))),
    name(o.subject),
    o.subjectKey.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = crypto.sign('sha256', tbs, o.signer);
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

const newKey = (): KeyPair => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = (k: KeyPair) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const CA_NAME = 'egressctl-sandbox-ca';

/** A self-signed CA. */
function newCa(days: number): Issued {
  const key = newKey();
  const certPem = certificate({
    subject: CA_NAME,
    issuer: CA_NAME,
    subjectKey: key,
    signer: key.privateKey,
    ca: true,
    days,
  });
  return { certPem, keyPem: pem(key), key };
}

/** A leaf certificate signed by `ca`: a serving one for localhost/127.0.0.1, or a client one. */
function leaf(ca: Issued, subject: string, o: { client: boolean; days: number }): Issued {
  const key = newKey();
  const certPem = certificate({
    subject,
    issuer: CA_NAME,
    subjectKey: key,
    signer: ca.key.privateKey,
    ca: false,
    client: o.client,
    ...(o.client ? {} : { dnsNames: ['localhost'], ips: ['127.0.0.1'] }),
    days: o.days,
  });
  return { certPem, keyPem: pem(key), key };
}

/** A self-signed CA and a serving certificate it signed, for localhost and 127.0.0.1. */
export function generateServingCerts(o: { days?: number } = {}): { ca: Issued; server: Issued } {
  const ca = newCa(o.days ?? 30);
  return { ca, server: leaf(ca, 'egressctl-sandbox-apiserver', { client: false, days: o.days ?? 30 }) };
}

/** A client certificate for user `cn`, signed by `ca` (for kubeconfigs with client-certificate-data). */
export function issueClientCert(ca: Issued, cn: string, o: { days?: number } = {}): Issued {
  return leaf(ca, cn, { client: true, days: o.days ?? 30 });
}

/** A CA of its own, with the sandbox's name: certificates it issues are not trusted by the sandbox. */
export function untrustedCa(): Issued {
  return newCa(1);
}
