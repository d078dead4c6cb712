#!/usr/bin/env node
// Tiny shim: the CLI lives in dist/ (npm run build).
import { runProcess } from '../dist/main.js';

await runProcess();
