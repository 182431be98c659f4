import type { CommonGeneratorOptions } from '../project';

export type ModelGeneratorSchema = CommonGeneratorOptions;
