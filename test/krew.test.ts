// The krew manifest (scripts/krew-manifest.mjs): built from the `npm pack` archive, it has what krew's
// validation requires (krew `pkg/index/validation`: apiVersion, kind, metadata.name = file name,
// spec.version semver with a leading v, shortDescription, platforms with selector, uri, sha256, bin and
// files), its sha256 is the archive's, and the archive holds what `bin` and `files` name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    version: string;
    homepage: string;
    shortDescription: string;
    description: string;
    caveats?: string;
    platforms: {
      selector: { matchExpressions?: { key: string; operator: string; values: string[] }[] };
      uri: string;
      sha256: string;
      bin: string;
      files: { from: string; to: string }[];
    }[];
  };
}

test('the krew manifest matches the packed archive and has every field krew requires', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-krew-'));
  try {
    const out = path.join(dir, 'egress.yaml');
    await run(process.execPath, ['scripts/krew-manifest.mjs', '--pack-destination', dir, '--out', out], {
      cwd: root,
    });
    const m = parse(fs.readFileSync(out, 'utf8')) as Manifest;
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    assert.equal(m.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2');
    assert.equal(m.kind, 'Plugin');
    assert.equal(m.metadata.name, path.basename(out, '.yaml'));
    assert.match(m.metadata.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.equal(m.spec.version, `v${pkg.version}`);
    assert.match(m.spec.version, /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    assert.match(m.spec.homepage, /^https:\/\//);
    assert.ok(m.spec.shortDescription.length > 0 && m.spec.shortDescription.length <= 50);
    assert.match(m.spec.description, /Requires Node\.js/);
    assert.match(m.spec.caveats ?? '', /Node\.js/);
    assert.equal(m.spec.platforms.length, 1);
    const archive = path.join(dir, `${pkg.name}-${pkg.version}.tgz`);
    const sha = createHash('sha256').update(fs.readFileSync(archive)).digest('hex');
    const entries = (await run('tar', ['tzf', archive])).stdout.split('\n').filter(Boolean);
    for (const p of m.spec.platforms) {
      assert.ok((p.selector.matchExpressions ?? []).length > 0);
      assert.match(p.uri, /^https:\/\/.+\.tgz$/);
      assert.equal(p.sha256, sha);
      assert.ok(p.files.length > 0);
      for (const f of p.files)
        assert.ok(
          entries.some((e) => e === f.from || e.startsWith(`${f.from}/`)),
          `${f.from} is in the archive`,
        );
      // bin is relative to the install dir: files map package/X to X.
      assert.ok(entries.includes(`package/${p.bin}`), p.bin);
    }
    assert.ok(entries.includes('package/bin/kubectl_complete-egress.js'));
    assert.ok(entries.includes('package/LICENSE'), 'the license is packed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
