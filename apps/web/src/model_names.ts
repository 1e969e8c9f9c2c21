/**
 * The page's three models, in the order of its columns, with no tfjs import (the Node tests use these names too).
 */
export const MODEL_NAMES = ['plain', 'gmr', 'steerable'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
/** The folder under models/ of each model (= its `gmr train --model` name and its key in manifest.json). */
export const FOLDERS: Record<ModelName, string> = { plain: 'plain-cnn', gmr: 'gmr-cnn', steerable: 'gmr-steerable' };
export const LABELS: Record<ModelName, string> = { plain: 'plain CNN', gmr: 'GMR-CNN', steerable: 'steerable GMR-CNN' };
