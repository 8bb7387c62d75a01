export * from './cache';
export {
  type BlobRequest,
  checkDiskSpace,
  type Digest,
  downloadBlob,
  freeBytes,
  type TransferOptions,
} from './download';
export * from './events';
export { type HubFetchOptions, type HubRequestContext, hubError, hubFetch, networkError } from './http';
export * from './pull';
export * from './settings';
