import { describe, expect, it } from 'vitest';
import { environmentFileLine, renderUnit, systemdWord } from '../../src/hosts/ssh-systemd.ts';

/**
 * The systemd units of an SSH machine that runs systemd (a GCE VM). This machine has no systemd,
 * so what is checked here is what the units say; the host tests (test/hosts/) run the pidfile
 * services that such a machine uses instead, behind the same Host contract.
 */
describe('systemd units for SSH machines', () => {
  it('quote command words the way systemd reads them: specifiers and variables stay literal', () => {
    expect(systemdWord('/opt/node')).toBe('"/opt/node"');
    expect(systemdWord('50% of $HOME "x" \\ y')).toBe('"50%% of $$HOME \\"x\\" \\\\ y"');
    expect(() => systemdWord('a\nExecStartPre=/bin/evil')).toThrow(/line breaks/);
  });

  it('write the environment to a file line by line, so no value can add a setting', () => {
    expect(environmentFileLine('OPENCLAW_GATEWAY_TOKEN', 'ab$c"d`e\\f')).toBe('OPENCLAW_GATEWAY_TOKEN="ab\\$c\\"d\\`e\\\\f"');
    expect(() => environmentFileLine('X', 'a\nLD_PRELOAD=/tmp/x.so')).toThrow(/line breaks/);
    expect(() => environmentFileLine('BAD NAME', 'v')).toThrow(/invalid environment variable name/);
  });

  it('run the service as the SSH user, enabled at boot, restarted on a crash, stopped with its whole cgroup', () => {
    const unit = renderUnit({
      description: 'agent-fleet openclaw-gateway in /home/fleet/fleets/acme',
      user: 'fleet',
      cwd: '/home/fleet/fleets/acme',
      logFile: '/home/fleet/fleets/acme/openclaw/gateway.log',
      environmentFile: '/home/fleet/.fleet-services/acme-1234/openclaw-gateway.env',
      command: '/home/fleet/fleets/acme/runtime/node',
      args: ['openclaw.mjs', 'gateway', 'run', '--port', '18789'],
    });
    const lines = unit.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'User=fleet',
        'WorkingDirectory="/home/fleet/fleets/acme"',
        'EnvironmentFile="/home/fleet/.fleet-services/acme-1234/openclaw-gateway.env"',
        'ExecStart="/home/fleet/fleets/acme/runtime/node" "openclaw.mjs" "gateway" "run" "--port" "18789"',
        'StandardOutput=append:/home/fleet/fleets/acme/openclaw/gateway.log',
        'KillMode=control-group',
        'Restart=on-failure',
        'WantedBy=multi-user.target',
      ]),
    );
    // The token never appears in the unit, which /etc/systemd/system shows to every user.
    expect(unit).not.toMatch(/Environment=/);
  });
});
