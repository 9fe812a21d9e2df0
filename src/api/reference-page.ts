/**
 * A self-contained, human-readable API reference rendered from the OpenAPI document on the server:
 * no CDN script, so it works on machines without internet and leaks no requests.
 */

type Doc = {
  info: { title: string; description?: string; version: string };
  paths?: Record<string, Record<string, Operation | undefined> | undefined>;
};
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
};

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);

const AUTH_LABEL: Record<string, string> = {
  clerkBearer: 'Clerk session (Bearer)',
  clerkCookie: 'Clerk session (__session cookie)',
  platformToken: 'X-Platform-Token',
  metricsToken: 'Bearer FLEET_METRICS_TOKEN, when the server sets one',
};

export function renderReferencePage(doc: Doc): string {
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods ?? {})) {
      if (!op || typeof op !== 'object') continue;
      const auth = (op.security ?? []).flatMap((s) => Object.keys(s).map((k) => AUTH_LABEL[k] ?? k));
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''})${p.description ? ` — ${esc(p.description)}` : ''}</li>`,
        )
        .join('');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description ?? '')}</li>`)
        .join('');
      sections.push(`<section>
  <h2><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2>
  <p>${esc(op.summary ?? '')}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}
  <p><b>Auth:</b> ${auth.length ? esc(auth.join(' or ')) : 'none'}</p>
  ${params ? `<p><b>Parameters</b></p><ul>${params}</ul>` : ''}
  ${body ? `<details><summary>Request body schema</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ''}
  <p><b>Responses</b></p><ul>${responses}</ul>
</section>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)} reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
section{border-top:1px solid #d0d7de;padding:.5rem 0}h2{font-size:1.1rem}
.m{display:inline-block;min-width:4rem;font-size:.8rem;padding:.1rem .4rem;border-radius:4px;color:#fff;background:#57606a}
.get{background:#0969da}.post{background:#1a7f37}.delete{background:#cf222e}
pre{background:#f6f8fa;padding:.5rem;overflow:auto}
</style></head><body>
<h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1). Errors always look like
<code>{"ok":false,"error":{"code","message","requestId"}}</code>.</p>
${sections.join('\n')}
</body></html>`;
}
