import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.base';

// shims: import.meta.url in the CJS build (the version is read from package.json beside dist/).
export default defineConfig(packageConfig({ index: 'src/index.ts' }, { shims: true }));
