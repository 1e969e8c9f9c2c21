#!/usr/bin/env node
// The gmr command: registers tsx's loader in this process and runs src/main.ts (no build step, no extra
// process, so signals such as Ctrl-C or SIGKILL reach the training loop itself).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exit(await main(process.argv.slice(2)));
