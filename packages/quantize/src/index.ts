export * from './math';
export * from './model';
export * from './recipe';
export * from './recipes';
export * from './transform';
export * from './metrics';
export * from './compare';
