import { type ServerType, serve } from '@hono/node-server';
import type { TestApp } from '../harness/app.ts';

/** Serves a test app over real HTTP on an ephemeral loopback port, for clients in other processes. */
export async function serveOnLoopback(t: TestApp): Promise<{ url: string; close(): Promise<void> }> {
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
    server.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Event streams never end by themselves.
        (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
        server?.close(() => resolve());
      }),
  };
}
