export * from './tokenizer/sentencepiece';
export * from './tokenizer/t5';
