#!/usr/bin/env node
// `npx securelogin …` from the project root. The CLI is TypeScript run by
// Node's type stripping, like the server, so an older Node is told so in one
// line (by scripts/need-node.js, imported first) instead of failing on the
// first TypeScript import.
import '../scripts/need-node.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// npm runs `npm start` in the project root even when typed in a subfolder;
// doing the same here makes a relative DATA_DIR (the default ./data) name the
// server's folder, not a new empty one under server/ or test/.
const root = fs.realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const here = fs.realpathSync(process.cwd());
if (here.startsWith(root + path.sep)) process.chdir(root);

const { main } = await import('../server/ops/cli.ts');
const status = await main(process.argv.slice(2));
process.exitCode = status;
// Everything the command opened is closed by now; should a driver still hold
// a handle, it must not keep the command from returning to the shell.
setTimeout(() => process.exit(status), 2_000).unref();
