// Test helpers (exported as @audiogen/hub/test; not for apps): a local fake Hub on 127.0.0.1.
export * from './fake-hub';
