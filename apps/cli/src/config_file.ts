/**
 * `--config FILE`: a JSON file holding a command's options, keyed by the flag names (`"batch-size": 64`) or their
 * camelCase form (`"batchSize": 64`). Every value goes through the same parser and choices as its flag, so a
 * config file accepts exactly what the command line accepts; flags given on the command line win over the file.
 */
import { readFileSync } from 'node:fs';
import { type Command, type Option, InvalidArgumentError } from 'commander';
import { CliError } from './errors.js';

/** Options a config file cannot set: the file itself, and what only makes sense for one invocation. */
const NOT_IN_FILE = new Set(['config', 'resume', 'stopAfter', 'help']);

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read --config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`,
    );
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--config ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new CliError(
      `--config ${file} must hold a JSON object of options, got ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}`,
    );
  return v as Record<string, unknown>;
}

/** The value as the flag's text: lists join with ',' (widths, angles), booleans stay booleans. */
function asFlagText(file: string, key: string, v: unknown): string | boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string')) return v.join(',');
  throw new CliError(
    `--config ${file}: "${key}" must be a number, a string, a boolean or a list of them, got ${JSON.stringify(v)}`,
  );
}

function parseWith(opt: Option, file: string, key: string, text: string | boolean, previous: unknown): unknown {
  const flag = opt.long ?? opt.flags;
  if (typeof text === 'boolean') {
    if (opt.required || opt.optional)
      throw new CliError(`--config ${file}: "${key}" (${flag}) takes a value, got ${text}`);
    // "no-progress": true means progress false; "progress": false means the same
    return /^no-|^no[A-Z]/.test(key) ? !text : text;
  }
  if (!opt.required && !opt.optional)
    throw new CliError(
      `--config ${file}: "${key}" (${flag}) is a switch: use true or false, got ${JSON.stringify(text)}`,
    );
  const choices = (opt as Option & { argChoices?: string[] }).argChoices;
  if (choices && !choices.includes(text))
    throw new CliError(`--config ${file}: "${key}" must be one of ${choices.join(', ')}, got '${text}'`);
  const parse = (opt as Option & { parseArg?: (v: string, prev: unknown) => unknown }).parseArg;
  if (!parse) return opt.variadic ? text.split(',') : text;
  try {
    return parse(text, previous);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new CliError(`--config ${file}: ${e.message}`);
    throw e;
  }
}

/**
 * Fills the command's options from the file, except those given on the command line.
 * Unknown keys are refused with the list of keys the command knows.
 */
export function applyConfigFile(cmd: Command, file: string): Record<string, unknown> {
  const raw = readJson(file);
  const byKey = new Map<string, Option>();
  for (const opt of cmd.options) {
    const attr = opt.attributeName();
    if (NOT_IN_FILE.has(attr)) continue;
    byKey.set(attr, opt);
    if (opt.long) byKey.set(opt.long.replace(/^--(no-)?/, ''), opt);
    // the flag's own name too: "no-progress": true (or "noProgress") as on the command line
    if (opt.long) for (const k of [opt.long.slice(2), camel(opt.long.slice(2))]) byKey.set(k, opt);
  }
  const applied: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const opt = byKey.get(key) ?? byKey.get(camel(key));
    if (!opt) {
      const known = [...new Set([...byKey.values()].map((o) => (o.long ?? '').replace(/^--(no-)?/, '')))]
        .filter(Boolean)
        .sort();
      throw new CliError(
        `--config ${file}: unknown option "${key}" for 'gmr ${cmd.name()}' (known: ${known.join(', ')})`,
      );
    }
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') continue; // the command line wins
    const v = parseWith(opt, file, key, asFlagText(file, key, value), cmd.getOptionValue(attr));
    cmd.setOptionValueWithSource(attr, v, 'config');
    applied[attr] = v;
  }
  return applied;
}
