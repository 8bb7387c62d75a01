export * from './compare';
export * from './math';
export * from './metrics';
export * from './model';
export * from './recipe';
export * from './recipes';
export * from './sensitivity';
export * from './transform';
