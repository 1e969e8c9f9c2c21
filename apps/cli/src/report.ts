/**
 * The evaluation report: a text table (stdout), report.json, accuracy-vs-angle plots drawn by Vega-Lite
 * (SVG through vega's renderer, PNG through resvg) and an HTML page that puts them together.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { writeFileAtomic } from './checkpoint.js';
import { makeFolder } from './errors.js';
import type { ModelEval } from './evaluate.js';

/** Every report file is written whole or not at all (a full disk leaves no 0-byte SVG), and a failure names it. */
function writeFile(path: string, data: string | Uint8Array): void {
  writeFileAtomic(path, [typeof data === 'string' ? new TextEncoder().encode(data) : data]);
}

const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : `${(100 * v).toFixed(2)} %`);

export function accAt(e: ModelEval, angle: number): number | undefined {
  const i = e.rotations?.angles.indexOf(angle) ?? -1;
  return i >= 0 ? e.rotations!.accuracy[i] : undefined;
}

/** Rows of the comparison table: one per measure, one column per model. */
export function tableRows(evals: ModelEval[]): string[][] {
  const rows: string[][] = [['', ...evals.map((e) => e.label)]];
  const detailKeys = [...new Set(evals.flatMap((e) => Object.keys(e.details ?? {})))];
  for (const k of detailKeys) rows.push([k, ...evals.map((e) => e.details?.[k] ?? '-')]);
  rows.push(['test images (angles, flips)', ...evals.map((e) => String(e.testImages))]);
  rows.push([
    'upright accuracy',
    ...evals.map(
      (e) =>
        `${pct(e.upright)}${e.uprightImages !== undefined && e.uprightImages !== e.testImages ? ` (${e.uprightImages} images)` : ''}`,
    ),
  ]);
  if (evals.some((e) => e.rotations)) {
    const n = evals.find((e) => e.rotations)!.rotations!.angles.length;
    rows.push([
      `mean over the ${n} angles (± std)`,
      ...evals.map((e) => (e.rotations ? `${pct(e.rotations.mean)} ± ${(100 * e.rotations.std).toFixed(2)}` : '-')),
    ]);
    rows.push([
      'min over the angles',
      ...evals.map((e) => (e.rotations ? pct(Math.min(...e.rotations.accuracy)) : '-')),
    ]);
    for (const a of [40, 45, 90, 180])
      if (evals.some((e) => accAt(e, a) !== undefined)) rows.push([`at ${a}°`, ...evals.map((e) => pct(accAt(e, a)))]);
  }
  if (evals.some((e) => e.flips)) {
    rows.push(['vertical flip', ...evals.map((e) => pct(e.flips?.vertical))]);
    rows.push(['horizontal flip', ...evals.map((e) => pct(e.flips?.horizontal))]);
  }
  rows.push(['evaluation time', ...evals.map((e) => `${e.seconds.toFixed(1)} s`)]);
  return rows;
}

export function formatTable(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) => `| ${r.map((c, j) => c.padEnd(w[j])).join(' | ')} |`;
  return [line(rows[0]), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function lineSpec(evals: ModelEval[]): vl.TopLevelSpec {
  const values = evals.flatMap((e) =>
    e.rotations
      ? e.rotations.angles.map((a, i) => ({ model: e.label, angle: a, accuracy: 100 * e.rotations!.accuracy[i] }))
      : [],
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Accuracy vs rotation angle (bilinear, zero fill)',
    width: 560,
    height: 300,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'angle',
        type: 'quantitative',
        title: 'rotation angle (degrees)',
        scale: { domain: [0, 360] },
        axis: { values: [0, 45, 90, 135, 180, 225, 270, 315, 360] },
      },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { domain: [0, 100] } },
      color: { field: 'model', type: 'nominal', title: 'model' },
      tooltip: [{ field: 'model' }, { field: 'angle' }, { field: 'accuracy', format: '.2f' }],
    },
  } as vl.TopLevelSpec;
}

function polarSpec(evals: ModelEval[]): vl.TopLevelSpec {
  // accuracy as radius around the circle of angles (Vega-Lite has no polar line mark: x/y computed from angle)
  const values = evals.flatMap((e) =>
    e.rotations
      ? e.rotations.angles.map((a, i) => {
          const r = 100 * e.rotations!.accuracy[i];
          const t = (a * Math.PI) / 180;
          return { model: e.label, angle: a, accuracy: r, x: r * Math.cos(t), y: r * Math.sin(t), order: i };
        })
      : [],
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Accuracy around the circle (radius = accuracy %)',
    width: 320,
    height: 320,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { domain: [-100, 100] }, title: 'cos(angle) · accuracy' },
      y: { field: 'y', type: 'quantitative', scale: { domain: [-100, 100] }, title: 'sin(angle) · accuracy' },
      order: { field: 'order' },
      color: { field: 'model', type: 'nominal' },
    },
  } as vl.TopLevelSpec;
}

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, width = 1200): Uint8Array {
  const r = new Resvg(svg, {
    fitTo: { mode: 'width', value: width },
    background: 'white',
    font: { loadSystemFonts: true },
  });
  return new Uint8Array(r.render().asPng());
}

export interface ReportFiles {
  json: string;
  table: string;
  svg: string[];
  png: string[];
  html: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function writeReport(
  dir: string,
  evals: ModelEval[],
  meta: Record<string, unknown>,
): Promise<ReportFiles> {
  makeFolder(dir);
  const rows = tableRows(evals);
  const table = formatTable(rows);
  const files: ReportFiles = {
    json: join(dir, 'report.json'),
    table: join(dir, 'table.md'),
    svg: [],
    png: [],
    html: join(dir, 'report.html'),
  };
  writeFile(files.json, JSON.stringify({ ...meta, results: evals }, null, 2) + '\n');
  writeFile(files.table, table + '\n');
  const plots: { name: string; svg: string }[] = [];
  if (evals.some((e) => e.rotations)) {
    plots.push({ name: 'accuracy-vs-angle', svg: await renderSvg(lineSpec(evals)) });
    plots.push({ name: 'accuracy-polar', svg: await renderSvg(polarSpec(evals)) });
  }
  for (const p of plots) {
    const svgPath = join(dir, `${p.name}.svg`);
    const pngPath = join(dir, `${p.name}.png`);
    writeFile(svgPath, p.svg);
    writeFile(pngPath, svgToPng(p.svg));
    files.svg.push(svgPath);
    files.png.push(pngPath);
  }
  const htmlRows = rows
    .map((r, i) => `<tr>${r.map((c) => (i === 0 ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`)
    .join('\n');
  const perAngle = evals.some((e) => e.rotations)
    ? `<h2>Accuracy at every angle</h2><table><tr><th>angle</th>${evals.map((e) => `<th>${esc(e.label)}</th>`).join('')}</tr>${evals
        .find((e) => e.rotations)!
        .rotations!.angles.map(
          (a) => `<tr><td>${a}°</td>${evals.map((e) => `<td>${pct(accAt(e, a))}</td>`).join('')}</tr>`,
        )
        .join('')}</table>`
    : '';
  const title = typeof meta.title === 'string' ? meta.title : 'Rotation and flip evaluation';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GMR-Conv ${esc(title.toLowerCase())}</title>
<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}figure{margin:1em 0}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>Protocol of the GMR-Conv paper (main.py <code>eval_rot</code> / <code>eval_flip</code>): every test image rotated by each angle with bilinear
interpolation and zero fill (corners black), accuracy per angle, mean and std over the angles; flips: none / vertical / horizontal.
Generated ${esc(String(meta.generated ?? new Date().toISOString()))}.</p>
<table>${htmlRows}</table>
${plots.map((p) => `<figure>${p.svg}<figcaption>${p.name}.svg (also <a href="${p.name}.png">${p.name}.png</a>)</figcaption></figure>`).join('\n')}
${perAngle}
<h2>Run</h2><pre>${esc(JSON.stringify(meta, null, 2))}</pre>
</body></html>
`;
  writeFile(files.html, html);
  return files;
}

export function readReport(dir: string): unknown {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
}
