import { createTestApp } from '../harness/app.ts';

/** The OpenAPI document exactly as the app serves it at /api/openapi.json. */
export async function servedOpenApiDocument(): Promise<string> {
  const t = await createTestApp();
  try {
    const res = await t.request('/api/openapi.json');
    if (res.status !== 200) throw new Error(`/api/openapi.json answered ${res.status}`);
    return await res.text();
  } finally {
    await t.close();
  }
}
