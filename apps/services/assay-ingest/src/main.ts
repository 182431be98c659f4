import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ingestAssays } from './ingest';

const s3 = new S3Client({});

/** Lambda entry point: `main.handler`. Input: one assay or an array of assays. */
export async function handler(event: unknown) {
  const bucket = process.env.DATA_BUCKET;
  if (!bucket) throw new Error('DATA_BUCKET is not set');
  const result = await ingestAssays(event, {
    put: async (key, body) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
  });
  return { biome: process.env.BIOME, gitSha: process.env.GIT_SHA, ...result };
}
