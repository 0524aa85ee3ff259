// Builds web/ into dist/ for the server to serve at /console/. The output must run under the console's
// CSP (script-src 'self'; style-src 'self'): no inline scripts, no inline styles, no remote anything.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    // Chromium and every browser the console targets load modules natively; the polyfill would be
    // injected code for nothing.
    modulePreload: { polyfill: false },
    // Inlined assets become data: URLs, which the CSP allows for images only: keep every asset a file.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
