/**
 * The ring options every GMR layer takes (GMRConv1D/2D/3D/2DTranspose, GMRHarmonicConv2D, GMRSteerableConv2D):
 * the ring geometry, the Gaussian mixture over the rings and the σ clip. Checked once here so that every layer
 * gives the same defaults and the same messages.
 */
import { ringMasks, type RingGeometry } from '../rings/ring_masks.js';
import { DEFAULT_SIGMA_SCALE } from '../mixture/gaussian_mixture.js';
import { invalid } from '../utils/errors.js';
import { bool } from './layer_utils.js';

export interface GMRRingArgs {
  /** Number of rings (default k//2 + 1, plus one when forceCircular is false). */
  numRings?: number | null;
  forceCircular?: boolean;
  /** false gives binary SRE rings (no smoothing, no sigmas). */
  gaussianMixtureRing?: boolean;
  trainGaussianSigma?: boolean;
  /** σ⁰ = band width / sigmaScale (2.355: FWHM = band width). */
  sigmaScale?: number;
  clipSigma?: boolean;
  sigmaMin?: number;
  sigmaMax?: number;
}

export interface GMRRingOptions {
  geometry: RingGeometry;
  numRings: number;
  forceCircular: boolean;
  gaussianMixtureRing: boolean;
  trainGaussianSigma: boolean;
  sigmaScale: number;
  clipSigma: boolean;
  sigmaMin: number;
  sigmaMax: number;
}

/** The ring options of a layer with this kernel size, defaults filled in; bad values refused naming the layer. */
export function resolveRingOptions(where: string, kernelSize: number[], args: GMRRingArgs): GMRRingOptions {
  const forceCircular = bool(where, 'forceCircular', args.forceCircular, true);
  const gaussianMixtureRing = bool(where, 'gaussianMixtureRing', args.gaussianMixtureRing, true);
  const trainGaussianSigma = bool(where, 'trainGaussianSigma', args.trainGaussianSigma, true);
  const clipSigma = bool(where, 'clipSigma', args.clipSigma, true);
  const sigmaScale = args.sigmaScale ?? DEFAULT_SIGMA_SCALE;
  if (!(sigmaScale > 0) || !Number.isFinite(sigmaScale))
    invalid(where, 'sigmaScale', args.sigmaScale, 'a finite positive number');
  const geometry = ringMasks(kernelSize, { forceCircular, numRings: args.numRings ?? null });
  const numRings = geometry.numRings;
  if (gaussianMixtureRing && numRings < 2)
    invalid(
      where,
      'numRings',
      numRings,
      'at least 2 with gaussianMixtureRing (σ⁰ divides by numRings − 1); use gaussianMixtureRing: false for one ring',
    );
  const sigmaMin = args.sigmaMin ?? 1e-2;
  const sigmaMax = args.sigmaMax ?? 2 * numRings;
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin))
    invalid(where, 'sigmaMin/sigmaMax', [args.sigmaMin, args.sigmaMax], '0 < sigmaMin < sigmaMax');
  return {
    geometry,
    numRings,
    forceCircular,
    gaussianMixtureRing,
    trainGaussianSigma,
    sigmaScale,
    clipSigma,
    sigmaMin,
    sigmaMax,
  };
}
