/**
 * One progress bar for every long step of the CLI (reading a folder, training, evaluation, prediction): count,
 * rate and ETA on stderr. It draws only on a terminal: piped into a file or a CI log, a bar would be a wall of
 * carriage returns, so there it does nothing and the step's own summary line is the record.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` items so far; `fields` fill the named fields of the format (e.g. loss); `total` when it is learnt late. */
  update(done: number, fields?: Record<string, string>, total?: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** what is counted (img, angle, file); shown after the count and in the rate */
  unit: string;
  /** the caller's --progress / --no-progress */
  enabled?: boolean;
  /** extra named fields shown after the ETA, each with its starting text: { loss: '-' } */
  fields?: Record<string, string>;
  /** where to draw (default stderr; tests pass their own) */
  stream?: NodeJS.WriteStream;
}

const QUIET: Progress = { update() {}, stop() {} };

/** True when a bar would be drawn: asked for, and stderr (where it goes) is a terminal. */
export function progressWanted(enabled = true, stream: NodeJS.WriteStream = process.stderr): boolean {
  return enabled && !!stream.isTTY;
}

/**
 * A bar for `total` items labelled `label`; a no-op off a terminal or when not enabled. With total 0 the bar
 * appears at the first update that gives a total (a reader that counts its files first), or never.
 */
export function progressBar(label: string, total: number, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (!progressWanted(options.enabled ?? true, stream)) return QUIET;
  if (total <= 0) {
    let bar: Progress | undefined;
    return {
      update(done, fields, newTotal) {
        if (!bar && newTotal !== undefined && newTotal > 0) bar = startBar(label, newTotal, options, stream);
        bar?.update(done, fields, newTotal);
      },
      stop() {
        bar?.stop();
      },
    };
  }
  return startBar(label, total, options, stream);
}

function startBar(label: string, total: number, options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const extra = Object.keys(options.fields ?? {})
    .map((k) => ` | ${k} {${k}}`)
    .join('');
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {value}/{total} ${options.unit} | {rate} ${options.unit}/s | ETA {eta_formatted}${extra}`,
      stream,
      // the ETA from the last 20 updates: the first batches (kernel compilation, caches) are slower than the rest
      etaBuffer: 20,
      hideCursor: false,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  bar.start(total, 0, { rate: '-', ...options.fields });
  return {
    update(done, fields, newTotal) {
      if (newTotal !== undefined && newTotal !== total) bar.setTotal((total = newTotal));
      const seconds = (performance.now() - t0) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      bar.update(done, { rate: rate >= 100 ? rate.toFixed(0) : rate.toFixed(1), ...fields });
    },
    stop() {
      bar.stop();
    },
  };
}
