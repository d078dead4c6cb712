// Figures for the sandbox API server: certificate generation, startup, and port-forwarding /metrics from
// 500 pods (8 at a time, as egressctl does) through ONE in-process admin http.Server.
// Run: node --import tsx bench/apiserver.ts
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startApiServer } from '../src/sandbox/apiserver.js';
import { SERVED, type ServedResource } from '../src/sandbox/resources.js';
import { World } from '../src/sandbox/world.js';
import { generateServingCerts } from '../src/sandbox/x509.js';

const body = `${'outbound_http_route_request_statuses_total{a="b"} 1\n'.repeat(2000)}`;
let t = performance.now();
for (let i = 0; i < 20; i++) generateServingCerts();
console.log(`CA + serving certificate: ${((performance.now() - t) / 20).toFixed(2)} ms each`);
t = performance.now();
const s = await startApiServer({ token: 't', metrics: () => body });
console.log(`startApiServer (HTTPS): ${(performance.now() - t).toFixed(1)} ms`);
const w = new World(s.store);
t = performance.now();
w.deployment('app', 'web', { replicas: 500 });
console.log(`500-pod Deployment in the store: ${(performance.now() - t).toFixed(1)} ms`);
const pods = s.store.list(SERVED.find((r) => r.kind === 'Pod') as ServedResource, 'app');
const scrape = (pod: string) =>
  new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(
      `${s.url.replace('https', 'wss')}/api/v1/namespaces/app/pods/${pod}/portforward?ports=4191`,
      ['v4.channel.k8s.io'],
      {
        headers: { Authorization: 'Bearer t' },
        ca: s.ca?.certPem,
      },
    );
    let bytes = 0;
    ws.on('open', () =>
      ws.send(
        Buffer.concat([
          Buffer.from([0]),
          Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        ]),
      ),
    );
    ws.on('message', (m: Buffer) => (bytes += m.length - 1));
    ws.on('close', () => resolve(bytes));
    ws.on('error', reject);
  });
const rssBefore = process.memoryUsage().rss;
t = performance.now();
let total = 0;
const queue = pods.map((p) => p.metadata.name);
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      const n = await scrape(p);
      total += n;
    }
  }),
);
const ms = performance.now() - t;
console.log(
  `port-forward + GET /metrics, ${pods.length} pods, 8 at a time: ${ms.toFixed(0)} ms (${(ms / pods.length).toFixed(2)} ms/pod, ${(total / 1e6).toFixed(1)} MB), RSS +${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(0)} MB`,
);
t = performance.now();
await s.close();
console.log(`close(): ${(performance.now() - t).toFixed(1)} ms`);
