export * from './assay';
export * from './blend';
