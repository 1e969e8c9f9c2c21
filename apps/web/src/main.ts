/**
 * The demo page: a digit (drawn or picked from the MNIST samples) is rotated by the slider's angle and fed to the
 * plain CNN, the GMR-CNN and the steerable GMR-CNN; their softmax outputs are shown as bars side by side.
 * window.gmrDemo drives the page in tests.
 */
import { kernelCallCounts, type KernelCallCounts } from '@gmr-conv/kernels-webgpu';
import { BACKENDS, describeBackend, isChoice, useBackend, type BackendChoice, type BackendName } from './backends.js';
import { drawPad, paint } from './draw.js';
import {
  FOLDERS,
  LABELS,
  MODEL_NAMES,
  loadModels,
  predict,
  type ModelName,
  type ModelOutput,
  type Models,
  type Outputs,
} from './models.js';
import samplesJson from './samples.json';

interface Sample {
  index: number;
  label: number;
  pixels: Float32Array;
}

export type Digit =
  { kind: 'sample'; sample: number; testIndex: number; label: number } | { kind: 'drawing' } | { kind: 'empty' };

/** What the page shows after an update (returned by every gmrDemo call): the state and each model's output. */
export type Snapshot = {
  seq: number;
  backend: BackendName;
  choice: BackendChoice;
  angle: number;
  digit: Digit;
} & Outputs;

function decode(b64: string): Float32Array {
  const bin = atob(b64);
  const out = new Float32Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i) / 255;
  return out;
}

const SAMPLES: Sample[] = samplesJson.samples.map((s) => ({
  index: s.index,
  label: s.label,
  pixels: decode(s.pixels),
}));

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const els = {
  backend: $<HTMLSelectElement>('#backend'),
  running: $<HTMLSpanElement>('#running'),
  draw: $<HTMLCanvasElement>('#draw'),
  input: $<HTMLCanvasElement>('#model-input'),
  clear: $<HTMLButtonElement>('#clear'),
  angle: $<HTMLInputElement>('#angle'),
  angleValue: $<HTMLOutputElement>('#angle-value'),
  samples: $<HTMLDivElement>('#samples'),
  status: $<HTMLParagraphElement>('#status'),
  about: $<HTMLParagraphElement>('#about'),
  model: Object.fromEntries(MODEL_NAMES.map((m) => [m, $<HTMLDivElement>(`#${m}`)])) as Record<
    ModelName,
    HTMLDivElement
  >,
};

// ---- state ---------------------------------------------------------------------------------------------------
const params = new URLSearchParams(location.search);
const state = {
  choice: (isChoice(params.get('backend')) ? params.get('backend') : 'auto') as BackendChoice,
  backend: null as BackendName | null,
  angle: 0,
  digit: { kind: 'sample', sample: 0, testIndex: SAMPLES[0].index, label: SAMPLES[0].label } as Digit,
  pixels: SAMPLES[0].pixels,
  models: null as Models | null,
  last: null as Snapshot | null,
  seq: 0,
};

function setStatus(text: string, kind: 'loading' | 'busy' | 'ready' | 'error') {
  els.status.textContent = text;
  els.status.dataset.state = kind;
}

// ---- work queue: one update at a time; calls made while one waits share it ------------------------------------
let tail: Promise<unknown> = Promise.resolve();
let waiting: Promise<Snapshot> | null = null;

function schedule(): Promise<Snapshot> {
  if (waiting) return waiting;
  const p = tail.then(() => {
    waiting = null;
    return update();
  });
  waiting = p;
  tail = p.catch(() => undefined);
  return p;
}

/** Runs `job` in the queue (after the pending update), then an update. */
function then(job: () => Promise<void> | void): Promise<Snapshot> {
  const p = tail.then(job);
  tail = p.catch(() => undefined);
  return p.then(() => schedule());
}

async function update(): Promise<Snapshot> {
  if (!state.models) throw new Error('the models are not loaded');
  if (!state.backend) throw new Error('no backend is running: choose another one in the selector');
  const angle = state.angle;
  const digit = state.digit;
  const r = await predict(state.models, state.pixels, angle);
  paint(els.input, r.input);
  for (const m of MODEL_NAMES) render(m, r.outputs[m], digit);
  const snap: Snapshot = { seq: ++state.seq, backend: state.backend, choice: state.choice, angle, digit, ...r.outputs };
  state.last = snap;
  document.body.dataset.angle = String(angle);
  document.body.dataset.seq = String(snap.seq);
  setStatus(
    `ready: ${state.backend}, ${MODEL_NAMES.map((m) => `${LABELS[m]} ${r.outputs[m].ms.toFixed(1)} ms`).join(', ')}`,
    'ready',
  );
  return snap;
}

// ---- rendering -------------------------------------------------------------------------------------------------
function buildBars() {
  for (const m of MODEL_NAMES) {
    const bars = els.model[m].querySelector('.bars')!;
    for (let c = 0; c < 10; c++) {
      const row = document.createElement('div');
      row.className = 'bar';
      row.dataset.class = String(c);
      row.innerHTML = `<span class="cls">${c}</span><span class="track"><span class="fill"></span></span><span class="pct"></span>`;
      bars.appendChild(row);
    }
  }
}

function render(m: ModelName, out: ModelOutput, digit: Digit) {
  const root = els.model[m];
  const label = digit.kind === 'sample' ? digit.label : null;
  const empty = digit.kind === 'empty';
  root.querySelector('.digit')!.textContent = empty ? '–' : String(out.top);
  root.querySelector('.conf')!.textContent = empty
    ? 'draw or pick a digit'
    : `${(out.probs[out.top] * 100).toFixed(1)} %`;
  root.classList.toggle('wrong', label !== null && out.top !== label);
  root.classList.toggle('right', label !== null && out.top === label);
  root.querySelectorAll<HTMLDivElement>('.bar').forEach((row, c) => {
    const p = out.probs[c];
    (row.querySelector('.fill') as HTMLSpanElement).style.width = `${(p * 100).toFixed(2)}%`;
    row.querySelector('.pct')!.textContent = `${(p * 100).toFixed(1)}`;
    row.classList.toggle('top', c === out.top);
    row.classList.toggle('label', c === label);
  });
  root.querySelector('.meta')!.textContent = `${out.ms.toFixed(1)} ms on ${state.backend}`;
}

function showAngle(angle: number) {
  els.angle.value = String(angle);
  els.angleValue.textContent = `${angle}°`;
}

function showSampleSelection() {
  els.samples
    .querySelectorAll('button')
    .forEach((b, i) => b.classList.toggle('selected', state.digit.kind === 'sample' && state.digit.sample === i));
}

// ---- actions ---------------------------------------------------------------------------------------------------
function setAngle(deg: number): Promise<Snapshot> {
  if (typeof deg !== 'number' || !Number.isFinite(deg) || deg < 0 || deg > 360)
    return Promise.reject(new Error(`angle must be 0..360, got ${deg}`));
  state.angle = deg;
  showAngle(deg);
  return schedule();
}

function setDigit(i: number): Promise<Snapshot> {
  const s = SAMPLES[i];
  if (!s) return Promise.reject(new Error(`no sample ${i} (0..${SAMPLES.length - 1})`));
  state.digit = { kind: 'sample', sample: i, testIndex: s.index, label: s.label };
  state.pixels = s.pixels;
  pad.show(s.pixels);
  showSampleSelection();
  return schedule();
}

function fromDrawing(): Promise<Snapshot> {
  const px = pad.read();
  state.pixels = px;
  state.digit = px.some((v) => v > 0) ? { kind: 'drawing' } : { kind: 'empty' };
  showSampleSelection();
  return schedule();
}

/** Starts the chosen backend and shows which one runs (in the queue: no prediction runs meanwhile). */
async function switchBackend(choice: BackendChoice): Promise<void> {
  setStatus(`starting ${choice}…`, 'busy');
  els.running.textContent = `starting ${choice}…`;
  els.running.dataset.backend = '';
  state.choice = choice;
  els.backend.value = choice;
  try {
    const r = await useBackend(choice);
    state.backend = r.name;
    const detail = await describeBackend(r.name);
    const failed = r.tried.filter((t) => !t.ok);
    els.running.textContent = `running: ${r.name}${detail ? ` (${detail})` : ''}${failed.length > 0 ? ` — ${failed.map((t) => t.name).join(', ')} unavailable` : ''}`;
    els.running.title = failed.map((t) => t.reason).join('\n');
    els.running.dataset.backend = r.name;
  } catch (e) {
    state.backend = null;
    els.running.textContent = `${choice} did not start`;
    throw e;
  }
}

function setBackend(choice: BackendChoice): Promise<Snapshot> {
  if (!isChoice(choice))
    return Promise.reject(new Error(`backend must be one of auto, ${BACKENDS.join(', ')}; got ${String(choice)}`));
  return then(() => switchBackend(choice));
}

const pad = drawPad(els.draw, () => void fromDrawing().catch(report));

function report(e: unknown) {
  console.error(e);
  setStatus(`error: ${(e as Error)?.message ?? String(e)}`, 'error');
}

// ---- wiring ----------------------------------------------------------------------------------------------------
function wire() {
  SAMPLES.forEach((s, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.title = `MNIST test #${s.index}: a ${s.label}`;
    b.dataset.sample = String(i);
    const c = document.createElement('canvas');
    c.width = 28;
    c.height = 28;
    paint(c, s.pixels);
    b.appendChild(c);
    b.addEventListener('click', () => void setDigit(i).catch(report));
    els.samples.appendChild(b);
  });
  els.angle.addEventListener('input', () => void setAngle(Number(els.angle.value)).catch(report));
  document
    .querySelectorAll<HTMLButtonElement>('.quick-angles button')
    .forEach((b) => b.addEventListener('click', () => void setAngle(Number(b.dataset.angle)).catch(report)));
  els.clear.addEventListener('click', () => {
    pad.clear();
    void fromDrawing().catch(report);
  });
  els.backend.addEventListener('change', () => void setBackend(els.backend.value as BackendChoice).catch(report));
  buildBars();
}

async function about() {
  try {
    const r = await fetch(new URL('models/manifest.json', document.baseURI));
    if (!r.ok) return;
    const manifest = await r.json();
    const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : '?');
    const acc = (m: ModelName) => {
      const a = manifest.models?.[FOLDERS[m]]?.testAccuracy;
      return a ? `${pct(a['0deg'])} upright, ${pct(a['45deg'])} at 45°, ${pct(a['90deg'])} at 90°` : null;
    };
    // each column says how well its model did on the test digits, the footer how the weights were made
    for (const m of MODEL_NAMES)
      els.model[m].querySelector('.acc')!.textContent = acc(m) ? `MNIST test: ${acc(m)}` : '';
    els.about.textContent = `Weights: trained on upright MNIST by \`gmr train\` (${manifest.command}). MNIST test accuracy (first 1,000 images): ${MODEL_NAMES.map((m) => `${LABELS[m]} ${acc(m) ?? '?'}`).join('; ')}.`;
  } catch {
    /* the footer line is optional */
  }
}

/** Resolves when no update is queued or running any more, with the last snapshot. */
async function idle(): Promise<Snapshot | null> {
  let t: Promise<unknown>;
  do {
    t = tail;
    await t;
  } while (t !== tail);
  return state.last;
}

export interface GmrDemo {
  ready: Promise<Snapshot>;
  /** waits until every update triggered so far (by the API or the controls) has been shown */
  idle(): Promise<Snapshot | null>;
  samples(): { index: number; label: number }[];
  setDigit(i: number): Promise<Snapshot>;
  setAngle(deg: number): Promise<Snapshot>;
  setBackend(choice: BackendChoice): Promise<Snapshot>;
  backend(): BackendName | null;
  predictions(): Snapshot | null;
  /** calls of @gmr-conv/kernels-webgpu's fused GMR kernels so far (forward, backward pieces, fallbacks) */
  fusedKernelCalls(): KernelCallCounts;
}

declare global {
  interface Window {
    gmrDemo: GmrDemo;
  }
}

async function start(): Promise<Snapshot> {
  wire();
  void about();
  showAngle(state.angle);
  pad.show(state.pixels);
  showSampleSelection();
  setStatus('loading models…', 'loading');
  await then(async () => {
    // the models load even when the chosen backend does not start, so another choice in the selector works
    const failed = await switchBackend(state.choice).then(
      () => null,
      (e: unknown) => e,
    );
    state.models = await loadModels();
    if (failed) throw failed;
  });
  return schedule();
}

const ready = start();
ready.catch(report);

window.gmrDemo = {
  ready,
  idle,
  samples: () => SAMPLES.map((s) => ({ index: s.index, label: s.label })),
  setDigit,
  setAngle,
  setBackend,
  backend: () => state.backend,
  predictions: () => state.last,
  fusedKernelCalls: kernelCallCounts,
};
