/**
 * Fault injection for the CLI's fault tests, loaded with `node --import` into the real gmr process (production code
 * has no test hooks). GMR_FAULT chooses the fault:
 *   kill-before-rename:N  SIGKILL before the N-th checkpoint rename (its temp file written, the old checkpoint kept)
 *   kill-after-rename:N   SIGKILL right after the N-th checkpoint rename, before that epoch's log line
 *   kill-mid-log:N        write half of the N-th log.jsonl line, then SIGKILL
 *   enospc:REGEX          writes to files whose name matches REGEX fail with ENOSPC after their first byte
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [kind, arg] = (process.env.GMR_FAULT ?? '').split(/:(.*)/s);
const die = () => process.kill(process.pid, 'SIGKILL');
let count = 0;

if (kind === 'kill-before-rename' || kind === 'kill-after-rename') {
  const rename = fs.renameSync;
  fs.renameSync = (from, to) => {
    if (!String(to).endsWith('checkpoint.gmrckpt')) return rename(from, to);
    count++;
    if (kind === 'kill-before-rename' && count === Number(arg)) die();
    rename(from, to);
    if (kind === 'kill-after-rename' && count === Number(arg)) die();
  };
}
if (kind === 'kill-mid-log') {
  const append = fs.appendFileSync;
  fs.appendFileSync = (file, data, ...rest) => {
    if (String(file).endsWith('log.jsonl') && ++count === Number(arg)) {
      append(file, String(data).slice(0, Math.floor(String(data).length / 2)), ...rest);
      die();
    }
    return append(file, data, ...rest);
  };
}
if (kind === 'enospc') {
  const pattern = new RegExp(arg);
  const open = fs.openSync;
  const write = fs.writeSync;
  const full = new Set();
  fs.openSync = (path, ...rest) => {
    const fd = open(path, ...rest);
    if (pattern.test(String(path))) full.add(fd);
    return fd;
  };
  fs.writeSync = (fd, buffer, ...rest) => {
    if (!full.has(fd)) return write(fd, buffer, ...rest);
    full.delete(fd);
    write(fd, typeof buffer === 'string' ? buffer.slice(0, 1) : buffer.subarray(rest[0] ?? 0, (rest[0] ?? 0) + 1));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
  };
}
syncBuiltinESMExports();
