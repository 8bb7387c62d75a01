export * from './audio';
export * from './errors';
export * from './interfaces';
export * from './npy';
export * from './output';
export * from './pipeline';
export * from './progress';
export * from './tensor';
