import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cmdlinesContaining } from './procs.ts';

/**
 * A private forge on loopback: git's smart HTTP (the real `git http-backend` CGI) behind a
 * token check, so tests see what a clone with a token sends and what other processes could see
 * while it runs. `mode` switches it to failure behaviours (HTTP 500, or never answering).
 */
export interface GitHttpServer {
  baseUrl: string;
  /** Authorization headers received, in order ('' when none). */
  authHeaders: string[];
  /** Command lines (from /proc) that contained the token while a request was being served. */
  leakedCmdlines: string[];
  mode: 'serve' | 'error500' | 'hang';
  close(): Promise<void>;
}

const BACKEND = '/usr/lib/git-core/git-http-backend';

export async function startGitHttpServer(projectRoot: string, token: string): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const hanging: http.ServerResponse[] = [];
  const state: GitHttpServer = { baseUrl: '', authHeaders: [], leakedCmdlines: [], mode: 'serve', close: async () => {} };

  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    state.authHeaders.push(auth);
    // git and git-remote-http are alive right now: look at every process's arguments.
    state.leakedCmdlines.push(...cmdlinesContaining([token, expected.slice('Basic '.length)]));
    if (state.mode === 'hang') {
      hanging.push(res);
      return;
    }
    if (state.mode === 'error500') {
      res.writeHead(500).end('boom');
      return;
    }
    if (auth !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test forge"' }).end('unauthorized');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn(BACKEND, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
    cgi.on('close', () => {
      const out = Buffer.concat(chunks);
      const split = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, split).toString();
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.split('\r\n')) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers).end(out.subarray(split + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
