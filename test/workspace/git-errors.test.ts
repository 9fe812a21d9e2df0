import { describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { classifyCloneFailure, redact } from '../../src/workspace/git-errors.ts';

/** Real stderr of failed clones, as git and the big forges print it. */
const cases: [string, string, 'terminal' | 'transient'][] = [
  ['github missing/private', "remote: Repository not found.\nfatal: repository 'https://github.com/acme/x.git/' not found\n", 'terminal'],
  ['no credentials', "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n", 'terminal'],
  ['bad token', "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/acme/x.git/'\n", 'terminal'],
  ['http 403', "fatal: unable to access 'https://git.example.com/acme/x.git/': The requested URL returned error: 403\n", 'terminal'],
  [
    'file forge',
    "fatal: '/srv/repos/acme/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n",
    'terminal',
  ],
  ['gitlab', "remote: The project you were looking for could not be found or you don't have permission to view it.\n", 'terminal'],
  ['dns', "fatal: unable to access 'https://github.com/acme/x.git/': Could not resolve host: github.com\n", 'transient'],
  [
    'refused',
    "fatal: unable to access 'http://127.0.0.1:9/a/b.git/': Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server\n",
    'transient',
  ],
  ['http 502', "fatal: unable to access 'https://github.com/acme/x.git/': The requested URL returned error: 502\n", 'transient'],
  [
    'rpc 500',
    'error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500\nfatal: the remote end hung up unexpectedly\n',
    'transient',
  ],
  ['rate limited', "fatal: unable to access 'https://github.com/acme/x.git/': The requested URL returned error: 429\n", 'transient'],
  ['cut off', 'error: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: early EOF\n', 'transient'],
  [
    'template warning + dns',
    "warning: templates not found in /nowhere\nfatal: unable to access 'https://h/a/b.git/': Could not resolve host: h\n",
    'transient',
  ],
];

describe('classifyCloneFailure', () => {
  it.each(cases)('%s', (_name, stderr, kind) => {
    const e = classifyCloneFailure(stderr, 'acme/x', []);
    expect(e).toBeInstanceOf(kind === 'terminal' ? TerminalError : TransientError);
    expect(e.message).toMatch(/acme\/x/);
  });

  it('says what to do for anything it does not recognise, and never shows a token or URL credentials', () => {
    const e = classifyCloneFailure(
      "fatal: could not create work tree dir 'x': No space left on device, https://bob:hunter2@h/ tok123\n",
      'acme/x',
      ['tok123'],
    );
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toMatch(/No space left on device/);
    expect(e.message).toMatch(/then retry/);
    expect(e.message).not.toMatch(/hunter2|tok123/);
  });
});

describe('redact', () => {
  it('removes tokens and userinfo', () => {
    expect(redact('https://user:pw@github.com/x and abc', ['abc'])).toBe('https://***@github.com/x and [redacted]');
  });
});
