// Bundles the browser pages (the demo and the browser-test page) into www/ with esbuild, so they
// load without a bundler of the application's own. The SDK itself is built by tsc into dist/.
import { build } from "esbuild";

await build({
  entryPoints: { "test-page": "test/test-page.ts", "trace-page": "test/trace-page.ts", "demo/demo": "demo/demo.ts" },
  bundle: true,
  format: "esm",
  target: "es2022",
  outdir: "www",
  sourcemap: true,
  logLevel: "warning",
});
