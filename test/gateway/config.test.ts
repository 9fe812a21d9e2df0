import { describe, expect, it } from 'vitest';
import { renderOpenclawConfig, type OpenclawConfigInput } from '../../src/gateway/config.ts';

const GUILD = '222222222222222222';
const CHANNELS = ['333333333333333331', '333333333333333332'];

function input(overrides: Partial<OpenclawConfigInput> = {}): OpenclawConfigInput {
  return {
    port: 19123,
    token: 'tok_0123456789abcdef',
    stateDir: '/srv/fleet/openclaw/state',
    agents: [
      {
        id: 'cantona',
        name: 'Cantona',
        role: 'engineer',
        workspace: '/srv/fleet/workspaces/cantona',
        agentDir: '/srv/fleet/openclaw/agents/cantona',
      },
      {
        id: 'popashot',
        name: 'Popashot',
        role: 'orchestrator',
        workspace: '/srv/fleet/workspaces/popashot',
        agentDir: '/srv/fleet/openclaw/agents/popashot',
      },
    ],
    ...overrides,
  };
}

const discord = {
  guildId: GUILD,
  channelIds: CHANNELS,
  accounts: [
    { agentId: 'popashot', token: 'bot-token-a', applicationId: '111111111111111111' },
    { agentId: 'cantona', token: 'bot-token-b' },
  ],
};

describe('renderOpenclawConfig', () => {
  it('runs the gateway locally, on loopback, with token auth', () => {
    const config = renderOpenclawConfig(input());
    expect(config.gateway).toEqual({
      mode: 'local',
      port: 19123,
      bind: 'loopback',
      auth: { mode: 'token', token: 'tok_0123456789abcdef' },
    });
    expect(config.update).toEqual({ checkOnStart: false });
    expect(config.telemetry).toEqual({ enabled: false });
    expect(config.logging).toEqual({ file: '/srv/fleet/openclaw/state/logs/openclaw.log' });
  });

  it('renders one entry per agent with its workspace, and explicit ownership', () => {
    const agents = renderOpenclawConfig(input()).agents as Record<string, any>;
    expect(agents.ownership).toBe('explicit');
    expect(agents.entries).toEqual({
      cantona: { name: 'Cantona', workspace: '/srv/fleet/workspaces/cantona', agentDir: '/srv/fleet/openclaw/agents/cantona' },
      popashot: { name: 'Popashot', workspace: '/srv/fleet/workspaces/popashot', agentDir: '/srv/fleet/openclaw/agents/popashot' },
    });
  });

  it('makes the orchestrator the system agent, else the first agent, unless told otherwise', () => {
    const systemAgent = (i: OpenclawConfigInput) => (renderOpenclawConfig(i).agents as any).defaults.systemAgent.agentId;
    expect(systemAgent(input())).toBe('popashot');
    const noOrchestrator = input().agents.map((a) => ({ ...a, role: 'engineer' }));
    expect(systemAgent(input({ agents: noOrchestrator }))).toBe('cantona');
    expect(systemAgent(input({ systemAgentId: 'cantona' }))).toBe('cantona');
  });

  it('has no Discord, plugin or binding keys without Discord', () => {
    const config = renderOpenclawConfig(input());
    expect(config).not.toHaveProperty('channels');
    expect(config).not.toHaveProperty('plugins');
    expect(config).not.toHaveProperty('bindings');
    expect(config).not.toHaveProperty('models');
  });

  it('renders one Discord account per agent bot, limited to the fleet channels', () => {
    const config = renderOpenclawConfig(input({ discord }));
    const channels = { [CHANNELS[0]!]: { enabled: true }, [CHANNELS[1]!]: { enabled: true } };
    expect(config.channels).toEqual({
      discord: {
        groupPolicy: 'allowlist',
        accounts: {
          popashot: { token: 'bot-token-a', applicationId: '111111111111111111', guilds: { [GUILD]: { channels } } },
          cantona: { token: 'bot-token-b', guilds: { [GUILD]: { channels } } },
        },
      },
    });
    expect(config.plugins).toEqual({ entries: { discord: { enabled: true } } });
  });

  it('binds each agent to its own bot in every fleet channel', () => {
    const bindings = renderOpenclawConfig(input({ discord })).bindings as any[];
    expect(bindings).toHaveLength(4);
    expect(bindings[0]).toEqual({
      agentId: 'popashot',
      match: { channel: 'discord', accountId: 'popashot', guildId: GUILD, peer: { kind: 'channel', id: CHANNELS[0] } },
    });
    for (const binding of bindings) expect(binding.match.accountId).toBe(binding.agentId);
  });

  it('turns off the hosted model catalog only when offline', () => {
    expect(renderOpenclawConfig(input({ offline: true })).models).toEqual({ catalogRefresh: { enabled: false } });
  });

  it('leaves the log file to OpenClaw without a state dir', () => {
    expect(renderOpenclawConfig(input({ stateDir: undefined }))).not.toHaveProperty('logging');
  });

  it('is a pure function of its input', () => {
    expect(JSON.stringify(renderOpenclawConfig(input({ discord })))).toBe(JSON.stringify(renderOpenclawConfig(input({ discord }))));
  });

  it.each([
    ['a port out of range', { port: 70000 }, /port/],
    ['a short token', { token: 'short' }, /token/],
    ['no agents', { agents: [] }, /agents/],
    ['a relative workspace', { agents: [{ id: 'a', name: 'A', role: 'x', workspace: 'ws/a', agentDir: '/x' }] }, /workspace/],
    [
      'an agent id with capitals',
      { agents: [{ id: 'Popashot', name: 'P', role: 'x', workspace: '/w', agentDir: '/x' }] },
      /agents\[0\]\.id/,
    ],
    ['an unknown system agent', { systemAgentId: 'nobody' }, /systemAgentId/],
    ['a bot for an unknown agent', { discord: { ...discord, accounts: [{ agentId: 'nobody', token: 't' }] } }, /agentId/],
    ['a guild id that is not a snowflake', { discord: { ...discord, guildId: 'my-guild' } }, /guildId/],
    ['no channels', { discord: { ...discord, channelIds: [] } }, /channelIds/],
  ] as const)('rejects %s, naming the field', (_name, overrides, field) => {
    expect(() => renderOpenclawConfig(input(overrides as Partial<OpenclawConfigInput>))).toThrow(field);
  });
});
