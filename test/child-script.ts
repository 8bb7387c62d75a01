// Tests that kill, crash or isolate a process run a small TypeScript script in a child node. The scripts
// import package sources (not dist), so they are bundled first; one recipe for every such test.

import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './workspace';

export interface BundleOptions {
  /** The bundle's `__dirname` (runtime-native finds its prebuild relative to its own folder). */
  dirname?: string;
  /** Import specifiers resolved to other files instead (e.g. a stub runtime). */
  replace?: Record<string, string>;
}

/**
 * Bundles the script `entry` into the ESM file `outfile` for `node outfile …`, resolving the workspace's
 * `@audiogen/*` names to sources as the tests do. CommonJS dependencies get a `require` of their own.
 */
export async function bundleScript(
  entry: string,
  outfile: string,
  options: BundleOptions = {},
): Promise<string> {
  const replace = options.replace ?? {};
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    ...(options.dirname === undefined ? {} : { define: { __dirname: JSON.stringify(options.dirname) } }),
    plugins: [
      {
        name: 'replace',
        setup(b) {
          for (const [name, path] of Object.entries(replace)) {
            const filter = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
            b.onResolve({ filter }, () => ({ path }));
          }
        },
      },
    ],
  });
  return outfile;
}
