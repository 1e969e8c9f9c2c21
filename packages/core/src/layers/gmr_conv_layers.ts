/** The four GMR layer classes, registered for tfjs serialization. */
import * as tf from '@tensorflow/tfjs-core';
import { GMRConvBase, GMRConvLayerArgs } from './gmr_conv_layer.js';

export class GMRConv1D extends GMRConvBase {
  static className = 'GMRConv1D';
  constructor(args: GMRConvLayerArgs) {
    super(1, false, args);
  }
}

export class GMRConv2D extends GMRConvBase {
  static className = 'GMRConv2D';
  constructor(args: GMRConvLayerArgs) {
    super(2, false, args);
  }
}

export class GMRConv3D extends GMRConvBase {
  static className = 'GMRConv3D';
  constructor(args: GMRConvLayerArgs) {
    super(3, false, args);
  }
}

/** Transposed 2D GMR conv (PyTorch ConvTranspose2d semantics; θ [in, filters/groups, n]). */
export class GMRConv2DTranspose extends GMRConvBase {
  static className = 'GMRConv2DTranspose';
  constructor(args: GMRConvLayerArgs) {
    super(2, true, args);
  }
}

for (const cls of [GMRConv1D, GMRConv2D, GMRConv3D, GMRConv2DTranspose]) tf.serialization.registerClass(cls);

/** Factories in the style of tf.layers.conv2d. */
export const gmrConv1dLayer = (args: GMRConvLayerArgs) => new GMRConv1D(args);
export const gmrConv2dLayer = (args: GMRConvLayerArgs) => new GMRConv2D(args);
export const gmrConv3dLayer = (args: GMRConvLayerArgs) => new GMRConv3D(args);
export const gmrConv2dTransposeLayer = (args: GMRConvLayerArgs) => new GMRConv2DTranspose(args);
