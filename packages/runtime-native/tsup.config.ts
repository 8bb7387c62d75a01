import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.base';

// shims: import.meta.url in the CJS build (the addon is located relative to the package).
export default defineConfig(packageConfig({ index: 'src/index.ts' }, { shims: true }));
