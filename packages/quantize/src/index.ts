export * from './math';
export * from './recipe';
export * from './recipes';
export * from './transform';
