import { featureVector, FEATURES } from '@geo/assay-core';

/** Calls the shared SageMaker multi-model endpoint for one target model. */
export interface ModelInvoker {
  invoke(targetModel: string, body: string): Promise<string>;
}

export interface Prediction {
  sampleId: string;
  predictedFe: number;
  model: string;
}

/**
 * Predicts the Fe grade of samples from their gangue assays, using the model
 * this biome deploys (MODEL_TARGET, e.g. `dev-bob/ore-grade-<sha>.tar.gz`).
 */
export async function predictGrades(
  samples: { sampleId: string; grades: Record<string, number> }[],
  invoker: ModelInvoker,
  targetModel: string | undefined,
): Promise<Prediction[]> {
  if (!targetModel) throw new Error('MODEL_TARGET is not set: deploy the ore-grade model to this biome first');
  if (samples.length === 0) return [];
  const body = JSON.stringify({ features: FEATURES, instances: samples.map((s) => featureVector(s.grades)) });
  const answer = JSON.parse(await invoker.invoke(targetModel, body)) as { predictions?: unknown };
  if (
    !Array.isArray(answer.predictions) ||
    answer.predictions.length !== samples.length ||
    !answer.predictions.every((p) => typeof p === 'number')
  ) {
    throw new Error(
      `model ${targetModel} answered ${samples.length} samples with ${JSON.stringify(answer).slice(0, 200)}`,
    );
  }
  const predictions = answer.predictions as number[];
  return samples.map((s, i) => ({
    sampleId: s.sampleId,
    predictedFe: Math.round(predictions[i] * 100) / 100,
    model: targetModel,
  }));
}
