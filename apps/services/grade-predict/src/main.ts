import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { predictGrades } from './predict';

const runtime = new SageMakerRuntimeClient({});

/** Lambda entry point: `main.handler`. Input: `{ samples: [{ sampleId, grades }] }`. */
export async function handler(event: { samples?: { sampleId: string; grades: Record<string, number> }[] }) {
  const endpoint = process.env.SAGEMAKER_ENDPOINT;
  if (!endpoint) throw new Error('SAGEMAKER_ENDPOINT is not set');
  const predictions = await predictGrades(
    event.samples ?? [],
    {
      invoke: async (targetModel, body) => {
        const r = await runtime.send(
          new InvokeEndpointCommand({
            EndpointName: endpoint,
            TargetModel: targetModel,
            ContentType: 'application/json',
            Body: body,
          }),
        );
        return new TextDecoder().decode(r.Body);
      },
    },
    process.env.MODEL_TARGET,
  );
  return { biome: process.env.BIOME, gitSha: process.env.GIT_SHA, predictions };
}
