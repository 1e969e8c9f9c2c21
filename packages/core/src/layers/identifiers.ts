/**
 * Resolving tfjs-layers identifiers ('glorotUniform', 'l1l2', 'relu', …) and
 * serialized {className, config} objects through tfjs's public SerializationMap,
 * so GMR layers accept exactly what tf.layers.conv2d accepts without deep imports.
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../utils/errors.js';

type Serializable = { getClassName(): string; getConfig(): tf.serialization.ConfigDict };
/** What the GMR layers call on a resolved initializer and regularizer. */
export type Initializer = { apply(shape: number[], dtype?: tf.DataType): tf.Tensor };
export type Regularizer = { apply(x: tf.Tensor): tf.Scalar };
const ALIASES: Record<string, string> = { l1l2: 'L1L2', leCunNormal: 'LeCunNormal', leCunUniform: 'LeCunUniform' };

function classEntry(className: string) {
  return tf.serialization.SerializationMap.getMap().classNameMap[className];
}

/** Initializer / Regularizer / Constraint / Activation from an identifier, a config dict or an instance. */
export function resolveSerializable<T>(
  where: string,
  param: string,
  value: unknown,
  kind: 'initializer' | 'regularizer' | 'constraint' | 'activation',
): T | undefined {
  if (value == null) return undefined;
  if (typeof value === 'object' && !('className' in (value as object) && 'config' in (value as object)))
    return value as T;
  let className: string;
  let config: tf.serialization.ConfigDict = {};
  if (typeof value === 'string') {
    className = ALIASES[value] ?? (kind === 'activation' ? value : value.charAt(0).toUpperCase() + value.slice(1));
  } else {
    const v = value as { className: string; config: tf.serialization.ConfigDict };
    className = v.className;
    config = v.config ?? {};
  }
  const entry = classEntry(className);
  if (!entry)
    invalid(
      where,
      param,
      value,
      `a known ${kind} name (e.g. ${kind === 'activation' ? "'relu'" : kind === 'initializer' ? "'glorotUniform'" : kind === 'regularizer' ? "'l1l2'" : "'maxNorm'"}) or a ${kind} object`,
    );
  const [cls, fromConfig] = entry;
  return fromConfig(cls as any, config) as T;
}

export function serializeObject(obj: unknown): tf.serialization.ConfigDict | null {
  if (obj == null) return null;
  const s = obj as Serializable;
  return { className: s.getClassName(), config: s.getConfig() };
}

/** The weight options every GMR conv layer takes, as tf.layers.conv2d's: kernel and bias initializers, kernel regularizer. */
export function resolveWeightOptions(
  where: string,
  args: { kernelInitializer?: unknown; biasInitializer?: unknown; kernelRegularizer?: unknown },
): { kernelInitializer?: Initializer; biasInitializer?: Initializer; kernelRegularizer?: Regularizer } {
  return {
    kernelInitializer: resolveSerializable<Initializer>(
      where,
      'kernelInitializer',
      args.kernelInitializer,
      'initializer',
    ),
    biasInitializer: resolveSerializable<Initializer>(where, 'biasInitializer', args.biasInitializer, 'initializer'),
    kernelRegularizer: resolveSerializable<Regularizer>(
      where,
      'kernelRegularizer',
      args.kernelRegularizer,
      'regularizer',
    ),
  };
}
