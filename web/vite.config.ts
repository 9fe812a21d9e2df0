import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The API the dev server forwards /api to (`npm run dev:web` next to `npm start`).
const api = process.env.FLEET_URL ?? 'http://127.0.0.1:3000';

/**
 * The dashboard: built into web/dist, which the API process serves at `/`. In `npm run dev:web`,
 * Vite serves it with hot reload and forwards /api to the API, so the page, its modules and its
 * API calls all come from one origin, as in production.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: process.env.FLEET_WEB_OUT_DIR ?? fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // The served CSP allows no inline code: never inline a module as a data: URL.
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: api, changeOrigin: false } },
  },
});
