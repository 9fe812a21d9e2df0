/**
 * The `connectivity_check` step's work: run every configured check, and name every check that is
 * not configured in the message, so a skipped check can never pass for a passed one.
 */
import { StepFailure, TerminalError, TransientError } from '../domain/step-errors.ts';
import { checkDiscord, type CheckDiscordOptions, type DiscordCheckResult } from './discord.ts';
import { checkMissionControl, type CheckMissionControlOptions, type MissionControlCheckResult } from './mission-control.ts';

export const SKIPPED_DISCORD = 'skipped: no Discord bots configured';
export const SKIPPED_MISSION_CONTROL = 'skipped: no Mission Control configured';

export interface ConnectivityOptions {
  /** Absent, or no bots: Discord is reported as skipped. */
  discord?: CheckDiscordOptions;
  /** Absent: Mission Control is reported as skipped. */
  missionControl?: CheckMissionControlOptions;
}

export interface ConnectivityResult {
  /** For the provision log, e.g. "Discord: 7 bots verified in guild 123 (channels 5/5 visible); skipped: no Mission Control configured". */
  message: string;
  discord?: DiscordCheckResult;
  missionControl?: MissionControlCheckResult;
}

/**
 * Runs the configured checks side by side. Any terminal failure wins (the user has to act anyway,
 * and sees every terminal problem at once); otherwise transient failures are merged into one.
 */
export async function checkConnectivity(opts: ConnectivityOptions): Promise<ConnectivityResult> {
  const discordOpts = opts.discord && opts.discord.bots.length > 0 ? opts.discord : undefined;
  const [discord, missionControl] = await Promise.allSettled([
    discordOpts ? checkDiscord(discordOpts) : Promise.resolve(undefined),
    opts.missionControl ? checkMissionControl(opts.missionControl) : Promise.resolve(undefined),
  ]);

  const failures = [discord, missionControl].flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  const unexpected = failures.find((f) => !(f instanceof StepFailure));
  if (unexpected !== undefined) throw unexpected; // cancellation or a bug: pass it on untouched
  const terminal = failures.filter((f): f is TerminalError => f instanceof TerminalError);
  if (terminal.length === 1) throw terminal[0];
  if (terminal.length > 1) throw new TerminalError(terminal.map((e) => e.message).join(' '), { cause: terminal[0] });
  const transient = failures as TransientError[];
  if (transient.length === 1) throw transient[0];
  if (transient.length > 1) {
    const waits = transient.map((e) => e.retryAfterMs ?? 0);
    throw new TransientError(transient.map((e) => e.message).join(' '), {
      cause: transient[0],
      ...(Math.max(...waits) > 0 && { retryAfterMs: Math.max(...waits) }),
    });
  }

  const d = discord.status === 'fulfilled' ? discord.value : undefined;
  const m = missionControl.status === 'fulfilled' ? missionControl.value : undefined;
  return {
    message: `${d ? d.summary : SKIPPED_DISCORD}; ${m ? m.summary : SKIPPED_MISSION_CONTROL}`,
    ...(d && { discord: d }),
    ...(m && { missionControl: m }),
  };
}
