import { describe, expect, it } from 'vitest';
import { cleanOutsideJson, cleanOutsideText } from './outside-text.ts';

describe('cleanOutsideText', () => {
  it('removes NUL and other control characters but keeps line breaks and tabs', () => {
    expect(cleanOutsideText('a\u0000b\u0007c\u001bd\u007fe\nf\tg\rh')).toBe('abcde\nf\tgh');
  });

  it('replaces lone surrogates and keeps real pairs', () => {
    expect(cleanOutsideText('x\ud800y\udc00z 😀')).toBe('x\ufffdy\ufffdz 😀');
  });

  it('bounds the length without splitting a surrogate pair', () => {
    expect(cleanOutsideText('abcdef', 4)).toBe('abc…');
    expect(cleanOutsideText('ab😀def', 4)).toBe('ab…');
    expect(cleanOutsideText('x'.repeat(10_000))).toHaveLength(4000);
  });

  it('cleans every string of a JSON value, keys included', () => {
    expect(cleanOutsideJson({ 'k\u0000': ['v\u0000', 1, null, { deep: 'd\ud800' }] })).toEqual({ k: ['v', 1, null, { deep: 'd\ufffd' }] });
  });
});
