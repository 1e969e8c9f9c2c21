/** Shared pieces of the WGSL programs (tfjs-backend-webgpu's program interface, flat dispatch). */
import { webgpu_util } from '@tensorflow/tfjs-backend-webgpu';
import { GEOMETRY_UNIFORMS, mapCoordSnippet, type Conv2DGeometry } from './program_geometry.js';

/** The fields tfjs-backend-webgpu reads from a program (its WebGPUProgram interface is type-only). */
export interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  getUserCode(): string;
}

/** A program with one thread per output element (flat dispatch, `index` in main). */
export abstract class FlatProgram implements WebGPUProgramLike {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms = GEOMETRY_UNIFORMS;

  constructor(
    protected g: Conv2DGeometry,
    outputShape: number[],
    key: string,
  ) {
    this.outputShape = outputShape;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(outputShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, outputShape, this.workgroupSize);
    this.shaderKey = `gmr_${key}_${g.channelsFirst ? 'cf' : 'cl'}_${g.paddingMode}`;
  }

  abstract getUserCode(): string;

  /** WGSL helpers: padded-coordinate mapping and the x / dy layouts. */
  protected helpers(): string {
    const cf = this.g.channelsFirst;
    return `
      ${mapCoordSnippet(this.g.paddingMode)}
      fn xIndex(b : i32, iy : i32, ix : i32, c : i32) -> i32 {
        ${cf ? 'return ((b * uniforms.cin + c) * uniforms.inH + iy) * uniforms.inW + ix;' : 'return ((b * uniforms.inH + iy) * uniforms.inW + ix) * uniforms.cin + c;'}
      }
      fn yIndex(b : i32, oy : i32, ox : i32, c : i32) -> i32 {
        ${cf ? 'return ((b * uniforms.cout + c) * uniforms.outH + oy) * uniforms.outW + ox;' : 'return ((b * uniforms.outH + oy) * uniforms.outW + ox) * uniforms.cout + c;'}
      }
    `;
  }

  /** WGSL: decodes a flat index in the x or y layout into b, row, col, channel (variables named). */
  protected decode(index: string, rows: string, cols: string, chans: string): string {
    if (this.g.channelsFirst) {
      return `
        let col = ${index} % uniforms.${cols};
        let row = (${index} / uniforms.${cols}) % uniforms.${rows};
        let chan = (${index} / (uniforms.${cols} * uniforms.${rows})) % uniforms.${chans};
        let b = ${index} / (uniforms.${cols} * uniforms.${rows} * uniforms.${chans});`;
    }
    return `
        let chan = ${index} % uniforms.${chans};
        let col = (${index} / uniforms.${chans}) % uniforms.${cols};
        let row = (${index} / (uniforms.${chans} * uniforms.${cols})) % uniforms.${rows};
        let b = ${index} / (uniforms.${chans} * uniforms.${cols} * uniforms.${rows});`;
  }
}
