/** In-memory save/load of a model (artifacts in memory; works in Node without tfjs-node). */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** The model's topology and weights as tfjs ModelArtifacts (nothing written to disk). */
export async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return artifacts!;
}

/** A model back from saveToMemory's artifacts (GMR layers are registered by importing @gmr-conv/core). */
export async function loadFromMemory(artifacts: tf.io.ModelArtifacts): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}
