// Not built yet: see README.md.
export {};
