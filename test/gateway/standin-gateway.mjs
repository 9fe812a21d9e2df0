#!/usr/bin/env node
// A stand-in for the `openclaw` CLI, for fast tests (plain Node 20, no dependencies). It accepts
// the same command lines and environment as the real one for what agent-fleet uses:
//   gateway run --port N [--auth token] [--token T]   serve /healthz, /readyz, /startupz on 127.0.0.1, and
//                                                   POST /tools/invoke as the real one checks it: the
//                                                   bearer token first (401), then body.tool (400/404)
//   config validate --json                          check the config is JSON with gateway.mode "local"
//   health --json                                   print a small health report of the running stand-in
//   plugins install <spec>                          no-op
//   --version
// Environment: OPENCLAW_CONFIG_PATH, OPENCLAW_STATE_DIR, OPENCLAW_GATEWAY_TOKEN (as the real one).
// Test knobs: FLEET_STANDIN_LISTEN_DELAY_MS (before listening, default 200),
// FLEET_STANDIN_READY_DELAY_MS (live → ready, default 300), FLEET_STANDIN_NEVER_READY=1,
// FLEET_STANDIN_EXIT_CODE=n (exit at once with code n, like a gateway that cannot start),
// FLEET_STANDIN_IGNORE_SIGTERM=1 (a gateway stuck in shutdown).
// Like the real gateway (gateway.reload.mode hybrid), it watches its openclaw.json and logs
// `config hot reload applied (<changed paths>)` when agents, channels, bindings… change; a change
// under `gateway` needs a restart, which it only logs.
// Used through FLEET_GATEWAY_COMMAND=<this file> (see src/gateway/runtime.ts).
import { readFileSync, watchFile } from 'node:fs';
import { createServer } from 'node:http';

const argv = process.argv.slice(2);
const option = (/** @type {string} */ name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const log = (/** @type {string} */ message) => process.stdout.write(`${new Date().toISOString()} [standin-gateway] ${message}\n`);

function readConfig() {
  const path = process.env.OPENCLAW_CONFIG_PATH;
  if (!path) return { path, error: 'OPENCLAW_CONFIG_PATH is not set' };
  try {
    return { path, config: JSON.parse(readFileSync(path, 'utf8')) };
  } catch (error) {
    return { path, error: /** @type {Error} */ (error).message };
  }
}

if (argv[0] === '--version') {
  process.stdout.write('OpenClaw standin (agent-fleet test stand-in)\n');
} else if (argv[0] === 'config' && argv[1] === 'validate') {
  const { path, config, error } = readConfig();
  const issues = [];
  if (error) issues.push({ path: '<root>', message: error });
  else if (config?.gateway?.mode !== 'local') issues.push({ path: 'gateway.mode', message: 'must be "local"' });
  process.stdout.write(`${JSON.stringify({ valid: issues.length === 0, path, issues, warnings: [] })}\n`);
  process.exitCode = issues.length === 0 ? 0 : 1;
} else if (argv[0] === 'health') {
  await health();
} else if (argv[0] === 'plugins' && argv[1] === 'install') {
  log(`plugins install ${argv[2] ?? ''}: nothing to do in the stand-in`);
} else if (argv[0] === 'gateway' && argv[1] === 'run') {
  runGateway();
} else {
  process.stderr.write(`standin-gateway: unsupported command: ${argv.join(' ')}\n`);
  process.exitCode = 2;
}

async function health() {
  const { config } = readConfig();
  const port = config?.gateway?.port;
  if (!process.env.OPENCLAW_GATEWAY_TOKEN) {
    process.stderr.write('gateway token missing (OPENCLAW_GATEWAY_TOKEN)\n');
    process.exitCode = 1;
    return;
  }
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const ready = await res.json();
    const agents = Object.keys(config?.agents?.entries ?? {}).map((agentId) => ({ agentId }));
    // Every configured Discord account is reported connected (the stand-in talks to no Discord).
    const accounts = Object.fromEntries(
      Object.keys(config?.channels?.discord?.accounts ?? {}).map((id) => [id, { running: true, connected: true, lastError: null }]),
    );
    const channels = Object.keys(accounts).length > 0 ? { discord: { accounts } } : {};
    process.stdout.write(`${JSON.stringify({ ok: ready.ready === true, plugins: { loaded: [], errors: [] }, channels, agents })}\n`);
  } catch (error) {
    process.stderr.write(`gateway not reachable on port ${port}: ${/** @type {Error} */ (error).message}\n`);
    process.exitCode = 1;
  }
}

function runGateway() {
  if (process.env.FLEET_STANDIN_EXIT_CODE) {
    log(`exiting at once with code ${process.env.FLEET_STANDIN_EXIT_CODE} (FLEET_STANDIN_EXIT_CODE)`);
    process.exit(Number(process.env.FLEET_STANDIN_EXIT_CODE));
  }
  const { config, error } = readConfig();
  if (error) log(`config: ${error}`);
  const port = Number(option('--port') ?? config?.gateway?.port ?? 18789);
  const token = option('--token') ?? process.env.OPENCLAW_GATEWAY_TOKEN ?? config?.gateway?.auth?.token;
  if (option('--auth') === 'token' && !token) {
    log('auth mode token needs --token or OPENCLAW_GATEWAY_TOKEN');
    process.exit(1);
  }
  const startedAt = Date.now();
  let ready = false;
  /** @param {import('node:http').ServerResponse} res @param {number} status @param {unknown} body */
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/healthz') return json(res, 200, { ok: true, status: 'live' });
    if (path === '/readyz') {
      return ready
        ? json(res, 200, { ready: true, failing: [], uptimeMs: Date.now() - startedAt })
        : json(res, 503, { ready: false, failing: ['startup'], uptimeMs: Date.now() - startedAt });
    }
    if (path === '/startupz') return json(res, 200, { ok: true, status: ready ? 'started' : 'starting', version: 'standin' });
    if (path === '/tools/invoke' && req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
    if (req.headers.authorization !== `Bearer ${token}`) return json(res, 401, { error: 'unauthorized' });
    if (path === '/tools/invoke') return toolsInvoke(req, res, json);
    return json(res, 404, { error: 'not found' });
  });
  server.on('error', (err) => {
    log(`cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  });
  setTimeout(
    () => {
      server.listen(port, '127.0.0.1', () => {
        log(`http server listening on 127.0.0.1:${port} (state ${process.env.OPENCLAW_STATE_DIR ?? '-'})`);
        if (process.env.FLEET_STANDIN_NEVER_READY === '1') return;
        setTimeout(
          () => {
            ready = true;
            log('ready');
          },
          Number(process.env.FLEET_STANDIN_READY_DELAY_MS ?? 300),
        );
      });
    },
    Number(process.env.FLEET_STANDIN_LISTEN_DELAY_MS ?? 200),
  );
  const stop = (/** @type {string} */ signal) => {
    log(`received ${signal}; shutting down`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  watchConfig(config);
  process.on('SIGTERM', () => (process.env.FLEET_STANDIN_IGNORE_SIGTERM === '1' ? log('ignoring SIGTERM') : stop('SIGTERM')));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * POST /tools/invoke after the token was checked: no tool named is a 400, and the stand-in has no
 * tools (404), as the real gateway answers for a tool it does not offer.
 * @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res
 * @param {(res: import('node:http').ServerResponse, status: number, body: unknown) => void} json
 */
function toolsInvoke(req, res, json) {
  let text = '';
  req.on('data', (chunk) => {
    text += chunk;
  });
  req.on('end', () => {
    let tool = '';
    try {
      const body = JSON.parse(text || '{}');
      tool = typeof body?.tool === 'string' ? body.tool.trim() : '';
    } catch {
      return json(res, 400, { ok: false, error: { type: 'invalid_request', message: 'invalid JSON body' } });
    }
    if (!tool) return json(res, 400, { ok: false, error: { type: 'invalid_request', message: 'tools.invoke requires body.tool' } });
    return json(res, 404, { ok: false, error: { type: 'not_found', message: `Tool not available: ${tool}` } });
  });
}

/**
 * Polls the config file (a rename-on-write replaces the inode, so fs.watch would lose it) and logs
 * each change the way the real gateway's reloader does.
 * @param {any} initial
 */
function watchConfig(initial) {
  const path = process.env.OPENCLAW_CONFIG_PATH;
  if (!path) return;
  let current = initial ?? {};
  watchFile(path, { interval: 100 }, () => {
    const { config, error } = readConfig();
    if (error) return log(`config reload skipped (invalid config): ${error}`);
    const changed = changedPaths(current, config);
    if (changed.length === 0) return;
    current = config;
    const restart = changed.filter((p) => p === 'gateway' || p.startsWith('gateway.'));
    if (restart.length > 0) return log(`config change requires gateway restart (${restart.join(', ')})`);
    log(`config hot reload applied (${changed.join(', ')})`);
  }).unref();
}

/** Changed paths, two levels deep (`agents.entries`, `channels.discord`), as the reload plan names them. @param {any} a @param {any} b */
function changedPaths(a, b, prefix = '', depth = 0) {
  /** @type {string[]} */
  const out = [];
  for (const key of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) {
    const [x, y] = [a?.[key], b?.[key]];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const here = prefix ? `${prefix}.${key}` : key;
    const objects = x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x);
    if (objects && depth < 1) out.push(...changedPaths(x, y, here, depth + 1));
    else out.push(here);
  }
  return out;
}
