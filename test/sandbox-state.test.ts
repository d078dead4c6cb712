// `egressctl sandbox --state FILE`: refused at start when it cannot be read or saved, saved atomically
// (a crash or a failing write mid-save leaves the previous state whole), and the sandbox always exits on
// a signal, whatever is connected to it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInput } from '../src/errors.js';
import { openState, saveState } from '../src/sandbox/state.js';
import type { StoredObject } from '../src/sandbox/store.js';
import { BIN, runCli } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-state-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const EN_PATH = '/apis/policy.linkerd.io/v1alpha1/namespaces/egress-test/egressnetworks';

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** When the signal was sent, to time the exit. */
  kill(signal: NodeJS.Signals): void;
}

/** Starts `egressctl sandbox ARGS` and waits for its banner. */
async function startSandboxCli(args: string[]): Promise<Running> {
  // Plain HTTP, so the test's own fetch needs no CA (the sandbox serves HTTPS by default).
  const child = spawn(process.execPath, [
    BIN,
    'sandbox',
    '--no-tls',
    '--kubeconfig',
    path.join(dir, 'kc'),
    ...args,
  ]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let sentAt = 0;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, ms: Date.now() - sentAt })),
  );
  const deadline = Date.now() + 15_000;
  while (!out.includes('Press Ctrl-C to stop.')) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no banner: ${out}${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? assert.fail(out);
  return {
    child,
    url,
    out: () => out,
    err: () => err,
    exited,
    kill(signal) {
      sentAt = Date.now();
      child.kill(signal);
    },
  };
}

const createNetwork = async (url: string, name: string): Promise<number> =>
  (
    await fetch(url + EN_PATH, {
      method: 'POST',
      headers: { Authorization: 'Bearer sandbox-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name, namespace: 'egress-test' },
        spec: { trafficPolicy: 'Deny' },
      }),
    })
  ).status;

const networks = (file: string): string[] =>
  !fs.existsSync(file)
    ? []
    : (JSON.parse(fs.readFileSync(file, 'utf8')) as StoredObject[])
        .filter((o) => o.kind === 'EgressNetwork' && o.metadata.name.startsWith('n-'))
        .map((o) => o.metadata.name);

describe('sandbox --state is checked before anything listens: one line naming the file, exit 2', () => {
  const junk = path.join(dir, 'junk.bin');
  fs.writeFileSync(junk, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x7b, 0x0a]));
  const notList = path.join(dir, 'object.json');
  fs.writeFileSync(notList, '{"kind":"Namespace"}\n');
  const badItem = path.join(dir, 'bad-item.json');
  fs.writeFileSync(badItem, '[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}, 7]\n');
  const folder = path.join(dir, 'a-folder');
  fs.mkdirSync(folder);
  const cases: [string, string, string][] = [
    [
      'junk.bin',
      junk,
      `error: cannot read the sandbox state ${junk}: it is not JSON (egressctl sandbox writes a JSON list of objects): fix or remove ${junk}, or choose another --state\n`,
    ],
    [
      'a missing folder',
      '/missing/dir/x.json',
      'error: cannot save the sandbox state to /missing/dir/x.json: the folder /missing/dir does not exist: create it, or choose another --state\n',
    ],
    [
      'JSON that is not a list',
      notList,
      `error: cannot read the sandbox state ${notList}: it is not a JSON list of objects: fix or remove ${notList}, or choose another --state\n`,
    ],
    [
      'a list item that is not an object',
      badItem,
      `error: cannot read the sandbox state ${badItem}: item 1 is not an object with apiVersion, kind and metadata.name: fix or remove ${badItem}, or choose another --state\n`,
    ],
    [
      'a folder',
      folder,
      `error: cannot read the sandbox state ${folder}: it is a folder, not a file: fix or remove ${folder}, or choose another --state\n`,
    ],
    [
      'a folder where no file can be created',
      '/proc/x.json',
      'error: cannot save the sandbox state to /proc/x.json: no file can be created in the folder /proc (ENOENT): make it writable, or choose another --state\n',
    ],
  ];
  for (const [name, file, stderr] of cases) {
    test(name, async () => {
      const r = await runCli(['sandbox', '--state', file], { timeoutMs: 10_000 });
      assert.equal(r.stderr, stderr);
      assert.equal(r.stdout, '', 'no banner: nothing was started');
      assert.equal(r.code, 2);
    });
  }

  test('a bad --save-interval is a usage error', async () => {
    const r = await runCli(['sandbox', '--state', path.join(dir, 's.json'), '--save-interval', '1ms']);
    assert.equal(r.stderr, 'error: invalid --save-interval 1ms: want 10ms to 1h\n');
    assert.equal(r.code, 2);
  });

  test('openState throws InvalidInput (exit 2) and leaves no probe file behind', () => {
    assert.throws(() => openState(junk), InvalidInput);
    const fresh = path.join(dir, 'probe-dir');
    fs.mkdirSync(fresh);
    assert.deepEqual(openState(path.join(fresh, 'x.json')), {
      path: path.join(fresh, 'x.json'),
      existed: false,
      objects: [],
    });
    assert.deepEqual(fs.readdirSync(fresh), []);
  });
});

describe('saves are atomic', () => {
  test('a write that fails mid-save leaves the previous state and no temporary file', () => {
    const d = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const file = path.join(d, 'state.json');
    const before = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept' } },
    ] as unknown as StoredObject[];
    saveState(file, before);
    const previous = fs.readFileSync(file, 'utf8');
    // Serialisation fails after the temporary file was opened: the failing write, injected.
    const failing = [
      ...before,
      {
        toJSON() {
          throw new Error('disk full');
        },
      },
    ] as unknown as StoredObject[];
    assert.throws(
      () => saveState(file, failing),
      (e: Error) =>
        e.message ===
        `cannot save the sandbox state to ${file}: Error: disk full (the previous state, if any, is unchanged): free space or fix the folder, or choose another --state`,
    );
    assert.equal(fs.readFileSync(file, 'utf8'), previous);
    assert.deepEqual(fs.readdirSync(d), ['state.json']);
    assert.deepEqual(openState(file).objects, before);
  });

  test('kill -9 at random moments while objects are written and saved every 10ms: the file always parses and holds a complete earlier state', async () => {
    const file = path.join(dir, 'crash.json');
    let written = 0;
    let saves = 0;
    // Each run creates networks n-<k> in order; a save is a snapshot, so what is on disk is always
    // n-0 … n-(m-1) for some m no greater than what was created.
    for (let run = 0; run < 4; run++) {
      const sb = await startSandboxCli(['--state', file, '--save-interval', '10ms']);
      const had = fs.existsSync(file) ? networks(file).length : 0;
      const stopAt = Date.now() + 150 + Math.floor(Math.random() * 250);
      while (Date.now() < stopAt) {
        assert.equal(await createNetwork(sb.url, `n-${String(written).padStart(4, '0')}`), 201);
        written++;
      }
      sb.kill('SIGKILL');
      assert.equal((await sb.exited).signal, 'SIGKILL');
      const got = networks(file);
      assert.deepEqual(
        got,
        Array.from({ length: got.length }, (_, i) => `n-${String(i).padStart(4, '0')}`),
        'a prefix of what was written: no object lost from the middle, none half-written',
      );
      assert.ok(got.length >= had, `run ${run}: the saved state never goes back (${got.length} < ${had})`);
      assert.ok(got.length <= written);
      // Objects created since the last periodic save are lost with kill -9; the next run starts from
      // what was saved, so its names continue from there.
      written = got.length;
      assert.doesNotThrow(() => openState(file));
      // openState (above, and the next run's) removed the temporary file the killed sandbox left.
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith('.crash.json.')),
        [],
      );
      saves += got.length > 0 ? 1 : 0;
    }
    assert.ok(saves > 0, 'some saves completed between the kills');
  });
});

describe('the sandbox always exits on a signal', () => {
  test('SIGTERM with a client connected: sockets closed, --state saved, exit 0 within a second', async () => {
    const file = path.join(dir, 'term.json');
    const sb = await startSandboxCli(['--state', file]);
    assert.equal(await createNetwork(sb.url, 'n-0000'), 201);
    // A client holding an open connection (an unfinished request) must not keep the sandbox up.
    const port = Number(new URL(sb.url).port);
    const held = net.connect(port, '127.0.0.1');
    await new Promise((r) => held.once('connect', r));
    held.write(`GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n`);
    held.on('error', () => undefined);
    const closed = new Promise((r) => held.once('close', r));
    sb.kill('SIGTERM');
    const { code, ms } = await sb.exited;
    assert.equal(code, 0, sb.err());
    assert.ok(ms < 1000, `exited ${ms} ms after SIGTERM`);
    assert.equal(sb.err(), 'stopping the sandbox\n');
    await closed;
    assert.deepEqual(networks(file), ['n-0000']);
  });

  test('a save that fails at exit is one line and exit 3, never a hang; a periodic failure warns once', async () => {
    const file = path.join(dir, 'fails.json');
    const sb = await startSandboxCli(['--state', file, '--save-interval', '20ms']);
    // The state's name is taken by a folder after start: every save now fails at the rename.
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'x'), '');
    assert.equal(await createNetwork(sb.url, 'n-0000'), 201);
    const warn = `warning: cannot save the sandbox state to ${file}: EISDIR (the previous state, if any, is unchanged): free space or fix the folder, or choose another --state (trying again every 0.02s)\n`;
    for (let i = 0; i < 100 && !sb.err().includes(warn); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await createNetwork(sb.url, 'n-0001'), 201);
    await new Promise((r) => setTimeout(r, 100));
    sb.kill('SIGINT');
    const { code, ms } = await sb.exited;
    assert.equal(
      sb.err(),
      `${warn}stopping the sandbox\nerror: cannot save the sandbox state to ${file}: EISDIR (the previous state, if any, is unchanged): free space or fix the folder, or choose another --state\n`,
    );
    assert.equal(code, 3);
    assert.ok(ms < 1000, `exited ${ms} ms after SIGINT`);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('.fails.json')),
      [],
      'no temporary file left',
    );
  });
});
