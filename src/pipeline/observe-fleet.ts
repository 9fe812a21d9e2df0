import type { Machine } from '../compute/driver.ts';
import { checkDiscord } from '../connectivity/discord.ts';
import { checkMissionControl } from '../connectivity/mission-control.ts';
import type { Db } from '../db/connection.ts';
import type { ReconcilableFleet } from '../db/fleet-health.ts';
import { getSecrets } from '../db/secrets.ts';
import { type AgentHealth, checkOf, type FleetHealthReport, type HealthCheck } from '../domain/fleet-health.ts';
import { SECRET } from '../domain/fleet-settings.ts';
import { openclawHealth } from '../gateway/cli.ts';
import { ensureGatewayRunning, isHealthy } from '../gateway/process.ts';
import { GATEWAY_SERVICE } from '../gateway/service.ts';
import type { Host } from '../hosts/host.ts';
import { RunMachine } from './run-machine.ts';
import type { PipelineSettings } from './settings.ts';
import { GATEWAY_LOG_REL, gatewaySpec, machineOf, OPENCLAW_CONFIG_REL, OPENCLAW_STATE_REL, openclawHome } from './steps/machine.ts';
import { runtimeFor } from './steps/runtime.ts';

/** What one look at a fleet found, and what it did about it on the spot. */
export interface Observation {
  report: FleetHealthReport;
  /** Set when its gateway had died and was started again (its new pid). */
  restartedPid?: number;
  /** Set when the gateway had died and could not be started again. */
  restartError?: string;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Looks at one fleet meant to run: its machine (the driver's word), its gateway (the service and
 * its health endpoints; a gateway whose process is gone is started again), the gateway's own report
 * (`openclaw health --json`), each agent's Discord bot and Mission Control. Never throws for what
 * it finds: a failure is a check's state.
 */
export async function observeFleet(db: Db, settings: PipelineSettings, fleet: ReconcilableFleet): Promise<Observation> {
  const at = new Date().toISOString();
  const machine = machineOf({ outputs: { vm_create: fleet.machine } });
  const access = new RunMachine({ db, box: settings.box, drivers: settings.drivers, fleetId: fleet.id, driverName: fleet.driver });
  const secrets = await getSecrets(db, settings.box, fleet.id);
  const external = externalChecks(settings, fleet, secrets, at);
  try {
    const machineCheck = await describeMachine(access, machine, at);
    if (machineCheck.state !== 'ok') {
      const why = machineCheck.state === 'failing' ? 'the machine is not running' : 'the machine could not be looked at';
      const gateway = checkOf('unknown', at, why);
      const { missionControl, channels } = await external;
      return { report: { machine: machineCheck, gateway, missionControl, agents: agentsReport(fleet, at, gateway, null, null, channels) } };
    }
    const host = await access.host(machine);
    const token = secrets[SECRET.gatewayToken] ?? '';
    const observed = await observeGateway(host, machine, settings, token, at);
    const config = await readAgentIds(host);
    const { missionControl, channels } = await external;
    return {
      report: {
        machine: machineCheck,
        gateway: observed.gateway,
        missionControl,
        agents: agentsReport(fleet, at, observed.gateway, config, observed.selfReport, channels),
      },
      ...(observed.restartedPid !== undefined ? { restartedPid: observed.restartedPid } : {}),
      ...(observed.restartError !== undefined ? { restartError: observed.restartError } : {}),
    };
  } finally {
    await access.close();
  }
}

async function describeMachine(access: RunMachine, machine: Machine, at: string): Promise<HealthCheck> {
  try {
    const { state } = await access.driver().describe(machine);
    if (state === 'running') return checkOf('ok', at);
    return checkOf('failing', at, state === 'missing' ? 'the machine is gone (its driver does not know it)' : `the machine is ${state}`);
  } catch (e) {
    // The driver could not answer (a cloud API outage): not evidence that the machine is broken.
    return checkOf('unknown', at, `could not ask the driver: ${message(e)}`);
  }
}

interface GatewayObservation {
  gateway: HealthCheck;
  /** `openclaw health --json`, when the gateway answered it. */
  selfReport: Record<string, unknown> | null;
  restartedPid?: number;
  restartError?: string;
}

async function observeGateway(
  host: Host,
  machine: Machine,
  settings: PipelineSettings,
  token: string,
  at: string,
): Promise<GatewayObservation> {
  const status = await host.serviceStatus(GATEWAY_SERVICE);
  let restartedPid: number | undefined;
  if (!status.running) {
    // Dead behind our back (killed, crashed, the host rebooted): the one thing fixed on the spot.
    try {
      const runtime = await runtimeFor(machine, host, settings);
      const res = await ensureGatewayRunning(host, gatewaySpec(machine, host, runtime, token));
      restartedPid = res.pid;
    } catch (e) {
      return {
        gateway: checkOf('failing', at, `the gateway had stopped and did not start again: ${message(e)}`),
        selfReport: null,
        restartError: message(e),
      };
    }
  } else if (!(await isHealthy(host, machine.gatewayPort, token))) {
    return {
      gateway: checkOf(
        'failing',
        at,
        `the gateway runs but does not answer /healthz and /readyz as this fleet's own (see ${GATEWAY_LOG_REL})`,
      ),
      selfReport: null,
    };
  }
  let selfReport: Record<string, unknown> | null = null;
  try {
    const runtime = await runtimeFor(machine, host, settings);
    selfReport = await openclawHealth(host, runtime, {
      configRel: OPENCLAW_CONFIG_REL,
      stateRel: OPENCLAW_STATE_REL,
      home: openclawHome(machine, host),
      token,
      timeoutMs: 30_000,
    });
  } catch {
    // Reported per agent as unknown: /readyz already said the gateway is up.
  }
  return { gateway: checkOf('ok', at), selfReport, ...(restartedPid !== undefined ? { restartedPid } : {}) };
}

/** The agent ids in the machine's openclaw.json, or null when it cannot be read. */
async function readAgentIds(host: Host): Promise<Set<string> | null> {
  try {
    const config = JSON.parse(await host.readFile(OPENCLAW_CONFIG_REL)) as { agents?: { entries?: Record<string, unknown> } };
    return new Set(Object.keys(config.agents?.entries ?? {}));
  } catch {
    return null;
  }
}

/** Discord REST (per bot: its guild and channels) and Mission Control: they do not need the machine. */
async function externalChecks(
  settings: PipelineSettings,
  fleet: ReconcilableFleet,
  secrets: Record<string, string>,
  at: string,
): Promise<{ missionControl: HealthCheck; channels: Map<string, HealthCheck> }> {
  const mc = fleet.settings.missionControl;
  const missionControl = mc
    ? checkMissionControl({
        url: mc.url,
        token: secrets[SECRET.missionControlToken] ?? '',
        outbound: settings.outbound,
        maxRetries: 0,
      }).then(
        () => checkOf('ok', at),
        (e: unknown) => checkOf('failing', at, message(e)),
      )
    : Promise.resolve(checkOf('not_configured', at));
  const discord = fleet.settings.discord;
  const channels = new Map<string, HealthCheck>();
  await Promise.all(
    (discord?.bots ?? []).map(async (bot) => {
      const check = await checkDiscord({
        baseUrl: settings.discordApiUrl,
        bots: [{ agentId: bot.agent, token: secrets[SECRET.discordBotToken(bot.agent)] ?? '' }],
        guildId: discord?.guildId,
        channelIds: discord?.channelIds,
        maxRetries: 0,
      }).then(
        () => checkOf('ok', at),
        (e: unknown) => checkOf('failing', at, message(e)),
      );
      channels.set(bot.agent, check);
    }),
  );
  return { missionControl: await missionControl, channels };
}

function agentsReport(
  fleet: ReconcilableFleet,
  at: string,
  gateway: HealthCheck,
  configured: Set<string> | null,
  selfReport: Record<string, unknown> | null,
  channels: Map<string, HealthCheck>,
): AgentHealth[] {
  const bots = new Set((fleet.settings.discord?.bots ?? []).map((b) => b.agent));
  const accounts = discordAccounts(selfReport);
  return fleet.agents.map(({ name }) => {
    const hasBot = bots.has(name);
    const gatewayUp =
      gateway.state === 'ok' ? checkOf('ok', at) : checkOf(gateway.state === 'failing' ? 'failing' : 'unknown', at, gateway.lastError);
    const inConfig =
      configured === null
        ? checkOf('unknown', at, 'the gateway config could not be read')
        : configured.has(name)
          ? checkOf('ok', at)
          : checkOf('failing', at, 'the agent is missing from the gateway config (openclaw/openclaw.json)');
    let discordConnected: HealthCheck;
    if (!hasBot) discordConnected = checkOf('not_configured', at);
    else if (accounts === null) discordConnected = checkOf('unknown', at, 'the gateway gave no health report (`openclaw health --json`)');
    else {
      const account = accounts[name];
      if (account?.connected === true) discordConnected = checkOf('ok', at);
      else if (account === undefined) discordConnected = checkOf('failing', at, 'the gateway reports no Discord account for this agent');
      else
        discordConnected = checkOf(
          'failing',
          at,
          typeof account.lastError === 'string' ? account.lastError : 'the Discord account is not connected',
        );
    }
    const channelsReachable = hasBot ? (channels.get(name) ?? checkOf('unknown', at, 'not checked')) : checkOf('not_configured', at);
    return { name, gatewayUp, configured: inConfig, discordConnected, channelsReachable };
  });
}

/** `channels.discord.accounts` of the gateway's own report (null when there is no report). */
function discordAccounts(report: Record<string, unknown> | null): Record<string, { connected?: unknown; lastError?: unknown }> | null {
  if (report === null) return null;
  const channels = report.channels as { discord?: { accounts?: unknown } } | undefined;
  const accounts = channels?.discord?.accounts;
  return accounts !== null && typeof accounts === 'object'
    ? (accounts as Record<string, { connected?: unknown; lastError?: unknown }>)
    : {};
}
