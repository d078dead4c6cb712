#!/usr/bin/env node
// kubectl 1.26+ completes `kubectl egress …` by running this with the words typed after `egress` (the last
// one the word under the cursor); it answers as `kubectl egress __complete` does (cobra's protocol).
import module from 'node:module';

module.enableCompileCache?.();
const { runProcess } = await import('../dist/main.js');
await runProcess({ argv: ['__complete', ...process.argv.slice(2)] });
