/**
 * The reference's two initialisation schemes for the ring weights θ, which need
 * the dense kernel's fan (θ itself is only [Cout, Cin/groups, n]):
 * - GMRReferenceUniform: θ ~ U(±1/√(Cin/groups · k^d)) (layer default, kaiming_uniform a=√5);
 * - GMRKaimingNormal:    θ ~ N(0, √(2 / (Cout · k^d))) (GMR-ResNet, Kaiming fan_out).
 * Bias: U(±1/√fanIn) with fanIn = Cin/groups · n, as the reference.
 */
import * as tf from '@tensorflow/tfjs-core';

abstract class SeededInitializer extends tf.serialization.Serializable {
  constructor(protected readonly args: { fan: number; seed?: number }) {
    super();
  }
  abstract apply(shape: number[], dtype?: tf.DataType): tf.Tensor;
  getConfig(): tf.serialization.ConfigDict {
    return { fan: this.args.fan, ...(this.args.seed != null ? { seed: this.args.seed } : {}) };
  }
}

export class GMRReferenceUniform extends SeededInitializer {
  static className = 'GMRReferenceUniform';
  apply(shape: number[]): tf.Tensor {
    const bound = 1 / Math.sqrt(this.args.fan);
    return tf.randomUniform(shape, -bound, bound, 'float32', this.args.seed);
  }
}

export class GMRKaimingNormal extends SeededInitializer {
  static className = 'GMRKaimingNormal';
  apply(shape: number[]): tf.Tensor {
    return tf.randomNormal(shape, 0, Math.sqrt(2 / this.args.fan), 'float32', this.args.seed);
  }
}

tf.serialization.registerClass(GMRReferenceUniform);
tf.serialization.registerClass(GMRKaimingNormal);

export type InitScheme = 'reference' | 'kaimingNormalFanOut';
