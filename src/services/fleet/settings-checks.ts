import type { Template } from '../../domain/template.ts';
import { urlRefusal } from '../../util/outbound-address.ts';
import type { ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

/** The checks a fleet's settings pass before they are stored, shared by provision and reconfigure. */

/** The template `id`, checked against the Discord bots that would be bound to its agents. */
export function checkedTemplate(ctx: ServiceContext, id: string, bots: ReadonlyArray<{ agent: string }>, field = 'discord.bots'): Template {
  const template = ctx.templates.get(id);
  if (!template) {
    throw new ServiceError('invalid_input', `templateId: unknown template '${id}'; known: ${ctx.templates.ids().join(', ')}`, 'templateId');
  }
  for (const bot of bots) {
    if (!template.agents.some((a) => a.name === bot.agent)) {
      throw new ServiceError(
        'invalid_input',
        `${field}: '${bot.agent}' is not an agent of template ${template.id} (${template.agents.map((a) => a.name).join(', ')})`,
        field,
      );
    }
  }
  return template;
}

/**
 * A URL the control plane will call for the tenant, judged before anything is stored: an IP
 * literal in a private range or `localhost` is refused here (a name is checked again, address by
 * address, when it is called).
 */
export function assertCallableUrl(ctx: ServiceContext, field: string, url: string): void {
  const why = urlRefusal(new URL(url), ctx.outbound);
  if (why) throw new ServiceError('invalid_input', `${field}: ${why}; use the service's public https address`, field);
}
