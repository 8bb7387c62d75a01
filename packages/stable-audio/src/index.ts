export * from './adapters';
export { bindRoles, type RoleSpec } from './binding';
export * from './family';
export * from './folder';
export * from './model-info';
export * from './pipeline';
export { type SamplerApi, samplerApi } from './sampling';
export * from './tokenizer/sentencepiece';
export * from './tokenizer/t5';
