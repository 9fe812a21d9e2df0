import type { Command } from 'commander';
import type { components } from '../api/openapi-types.ts';
import { call } from './client/api-call.ts';
import { withExample, withJson, withUrl } from './client/command-options.ts';
import { sessionConnection } from './client/connection.ts';
import { usageError } from './client/cli-error.ts';
import { addProvisionFlags, type ProvisionFlags, provisionBody, withFlagHint } from './client/provision-flags.ts';
import { reportRun, type RunOptions } from './provision.ts';

type ReconfigureFlags = ProvisionFlags & { removeDiscord?: boolean; removeMissionControl?: boolean };

const HINTS = {
  403: 'In an organisation only its admins change the fleet; ask one, or sign in as one.',
  409: '`fleet status` shows where the fleet stands; the message above says what is allowed from there.',
};

/** `fleet reconfigure`: change the fleet's settings; only the steps the change affects run again. */
export function registerReconfigure(program: Command): void {
  const reconfigure = addProvisionFlags(
    program
      .command('reconfigure')
      .description('change your fleet’s settings (what you leave out is kept); only the steps the change affects run again'),
  )
    .option('--remove-discord', 'remove Discord from the fleet (and destroy its bot tokens)')
    .option('--remove-mission-control', 'remove Mission Control from the fleet (and destroy its token)')
    .option('--watch', 'then follow it live until the fleet settles (as `fleet status --watch`)');
  withJson(withUrl(reconfigure), 'print the API answer as JSON');
  withExample(reconfigure, 'fleet reconfigure --repo acme/api --repo acme/docs --watch', 'fleet reconfigure --remove-discord');
  reconfigure.action(async (opts: RunOptions & ReconfigureFlags) => {
    const conn = sessionConnection(opts);
    const body = reconfigureBody(opts);
    const accepted = await call(conn.url, conn.api.PATCH('/api/fleet', { body }), HINTS).catch((e) => {
      throw withFlagHint(e);
    });
    await reportRun(conn, accepted, opts);
  });
}

function reconfigureBody(f: ReconfigureFlags): components['schemas']['ReconfigureRequest'] {
  if (f.removeDiscord && (f.discordGuild ?? f.discordChannel ?? f.discordBot) !== undefined) {
    throw usageError('--remove-discord cannot be given with --discord-… flags: remove Discord, or set it anew.');
  }
  if (f.removeMissionControl && (f.missionControlUrl ?? f.missionControlToken) !== undefined) {
    throw usageError('--remove-mission-control cannot be given with --mission-control-… flags.');
  }
  const body: components['schemas']['ReconfigureRequest'] = provisionBody(f);
  if (f.removeDiscord) body.discord = null;
  if (f.removeMissionControl) body.missionControl = null;
  if (Object.keys(body).length === 0) {
    throw usageError('Nothing to change: give at least one flag (`fleet reconfigure --help` lists them).');
  }
  return body;
}
