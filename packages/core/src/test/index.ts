// Shared test helpers for other packages' tests (exported as @audiogen/core/test).
export {};
