import type { Command } from 'commander';
import { addDevSessionOptions, type DevSessionOptions, mintDevSession } from './dev-session.ts';

export function registerDevToken(program: Command): void {
  const dev = program
    .command('dev')
    .description('development helpers (dev sign-in only)')
    .addHelpText('after', '\nExample:\n  fleet dev token --user user_alice --org org_acme --role admin\n');
  addDevSessionOptions(
    dev
      .command('token')
      .description("print a Clerk-shaped session token signed with the data dir's dev key")
      .addHelpText(
        'after',
        '\nExample:\n  T=$(fleet dev token --user user_alice --org org_acme --role admin)\n  curl -H "Authorization: Bearer $T" localhost:3000/api/fleet',
      ),
    true,
  ).action((opts: DevSessionOptions) => {
    console.log(mintDevSession(opts));
  });
}
