import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const text = readFileSync(join(__dirname, 'plant-feed.asl.json'), 'utf8');
const definition = JSON.parse(text);
const validate = createRequire(__filename)('asl-validator') as (d: unknown) => {
  isValid: boolean;
  errorsText(): string;
};

/** The Lambda tasks in execution order, as the services they invoke. */
function invokedServices(): string[] {
  const out: string[] = [];
  for (let name = definition.StartAt, state = definition.States[name]; state;) {
    const ref = /^\$\{service:(.+)\}$/.exec(state.Parameters?.FunctionName ?? '');
    if (ref) out.push(ref[1]);
    name = state.Next ?? state.Default;
    state = definition.States[name];
  }
  return out;
}

describe('plant-feed workflow', () => {
  it('is a valid state machine once its service references are resolved', () => {
    const resolved = JSON.parse(
      text.replace(/\$\{service:([a-z0-9-]+)\}/g, 'arn:aws:lambda:ap-southeast-2:000000000000:function:$1'),
    );
    const result = validate(resolved);
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('ingests the assays, then predicts their grade, then chooses a blend', () => {
    expect(invokedServices()).toEqual(['assay-ingest', 'grade-predict']);
    expect(definition.States.ChooseBlend.ItemsPath).toBe('$.predict.predictions');
  });

  it('routes each parcel on the predicted Fe grade grade-predict returns: ≥ 62 direct feed, ≥ 55 blend, else reject', () => {
    const route = definition.States.ChooseBlend.ItemProcessor.States.RouteParcel;
    expect(
      route.Choices.map((c: { Variable: string; NumericGreaterThanEquals: number; Next: string }) => [
        c.Variable,
        c.NumericGreaterThanEquals,
        c.Next,
      ]),
    ).toEqual([
      ['$.predictedFe', 62, 'DirectFeed'],
      ['$.predictedFe', 55, 'BlendStockpile'],
    ]);
    expect(route.Default).toBe('Reject');
  });
});
