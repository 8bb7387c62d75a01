export * from './atomic';
export * from './audio';
export * from './errors';
export * from './interfaces';
export * from './pipeline';
export * from './progress';
export * from './tensor';
