import { describe, expect, it } from 'vitest';
import { clerkFrontendApiOrigin } from './clerk-frontend-api.ts';

const key = (kind: 'live' | 'test', text: string) => `pk_${kind}_${Buffer.from(text).toString('base64')}`;

describe('clerkFrontendApiOrigin', () => {
  it('decodes the Frontend API host of a live or test key into an https origin', () => {
    expect(clerkFrontendApiOrigin(key('live', 'clerk.example.com$'))).toBe('https://clerk.example.com');
    expect(clerkFrontendApiOrigin(key('test', 'happy-cat-12.clerk.accounts.dev$'))).toBe('https://happy-cat-12.clerk.accounts.dev');
  });
  it('gives null for a key that names no plain host, so nothing odd reaches the CSP header', () => {
    for (const bad of [
      key('live', 'clerk.example.com'),
      key('live', 'evil.com; script-src *$'),
      key('live', 'a.com/path$'),
      'sk_live_abc',
      'pk_live_',
    ]) {
      expect(clerkFrontendApiOrigin(bad), bad).toBeNull();
    }
  });
});
