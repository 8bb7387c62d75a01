export * from './builder';
export * from './config';
export * from './folder';
export * from './onnx';
export * from './safetensors';
export * from './stable-audio';
export * from './weights';
