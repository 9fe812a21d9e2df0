import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiProblem, callApi } from '../api.ts';
import { Field, TextField } from '../Field.tsx';
import { useSession } from '../session/session.ts';
import { FLEET_KEY, useTemplates } from './fleet-queries.ts';
import { checkProvision, type FieldErrors, fieldOf, type ProvisionFormState, provisionBody } from './provision-form-model.ts';

const EMPTY: ProvisionFormState = {
  templateId: '',
  repos: '',
  discordOn: false,
  guildId: '',
  channelIds: '',
  botTokens: {},
  missionControlOn: false,
  missionControlUrl: '',
  missionControlToken: '',
};

/** "No fleet yet": the form that provisions one, checked in the browser with the API's own rules. */
export function ProvisionForm() {
  const session = useSession();
  const client = useQueryClient();
  const templates = useTemplates(true);
  const [form, setForm] = useState<ProvisionFormState>(EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formProblem, setFormProblem] = useState<string | null>(null);
  const set = (patch: Partial<ProvisionFormState>) => setForm((f) => ({ ...f, ...patch }));

  const list = templates.data ?? [];
  const template = list.find((t) => t.id === form.templateId);
  useEffect(() => {
    // Start from the first template and its repos once they are known.
    const first = templates.data?.[0];
    if (first && form.templateId === '') setForm((f) => ({ ...f, templateId: first.id, repos: first.repos.join('\n') }));
  }, [templates.data, form.templateId]);

  const provision = useMutation({
    mutationFn: (body: Record<string, unknown>) => callApi(session, '/api/fleet/provision', { method: 'POST', json: body }),
    onSuccess: () => client.invalidateQueries({ queryKey: FLEET_KEY }),
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFormProblem(null);
    const found = checkProvision(form);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      document.getElementById(Object.keys(found)[0]!.replace(/\./g, '-'))?.focus();
      return;
    }
    const { body, botAgents } = provisionBody(form);
    try {
      await provision.mutateAsync(body);
    } catch (err) {
      if (err instanceof ApiProblem && err.field && err.field !== '(body)') {
        const field = fieldOf(err.field, botAgents);
        setErrors({ [field]: err.message });
        document.getElementById(field.replace(/\./g, '-'))?.focus();
      } else {
        setFormProblem(err instanceof Error ? err.message : String(err));
      }
    }
  };

  if (templates.isError) return <p className="error">{templates.error.message}</p>;
  return (
    <section aria-labelledby="provision-heading">
      <h2 id="provision-heading">No fleet yet: provision one</h2>
      <form onSubmit={submit} noValidate>
        <Field id="templateId" label="Template" error={errors.templateId} hint={template?.description}>
          {(aria) => (
            <select
              {...aria}
              value={form.templateId}
              onChange={(e) => {
                const next = list.find((t) => t.id === e.target.value);
                set({ templateId: e.target.value, repos: next ? next.repos.join('\n') : form.repos, botTokens: {} });
              }}
            >
              {list.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} ({t.agents.length} {t.agents.length === 1 ? 'agent' : 'agents'})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id="repos" label="Repositories" error={errors.repos} hint="One owner/name per line; each agent gets a clone.">
          {(aria) => <textarea {...aria} rows={3} spellCheck={false} value={form.repos} onChange={(e) => set({ repos: e.target.value })} />}
        </Field>

        <fieldset>
          <legend>Discord (optional)</legend>
          <label className="check">
            <input type="checkbox" checked={form.discordOn} onChange={(e) => set({ discordOn: e.target.checked })} /> Connect Discord
          </label>
          {form.discordOn && (
            <>
              <TextField
                id="discord-guildId"
                label="Guild id"
                value={form.guildId}
                onChange={(v) => set({ guildId: v })}
                error={errors['discord.guildId']}
              />
              <TextField
                id="discord-channelIds"
                label="Channel ids"
                hint="Separated by spaces or commas."
                value={form.channelIds}
                onChange={(v) => set({ channelIds: v })}
                error={errors['discord.channelIds']}
              />
              {errors['discord.bots'] && <p className="field-error">{errors['discord.bots']}</p>}
              {(template?.agents ?? []).map((a) => (
                <TextField
                  key={a.name}
                  id={`discord-bots-${a.name}`}
                  label={`Bot token for ${a.displayName} (${a.role})`}
                  type="password"
                  value={form.botTokens[a.name] ?? ''}
                  onChange={(v) => set({ botTokens: { ...form.botTokens, [a.name]: v } })}
                  error={errors[`discord.bots.${a.name}`]}
                />
              ))}
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Mission Control (optional)</legend>
          <label className="check">
            <input type="checkbox" checked={form.missionControlOn} onChange={(e) => set({ missionControlOn: e.target.checked })} /> Connect
            Mission Control
          </label>
          {form.missionControlOn && (
            <>
              <TextField
                id="missionControl-url"
                label="Mission Control URL"
                type="url"
                value={form.missionControlUrl}
                onChange={(v) => set({ missionControlUrl: v })}
                error={errors['missionControl.url']}
              />
              <TextField
                id="missionControl-token"
                label="Mission Control token"
                type="password"
                value={form.missionControlToken}
                onChange={(v) => set({ missionControlToken: v })}
                error={errors['missionControl.token']}
              />
            </>
          )}
        </fieldset>

        {formProblem && (
          <p className="error" role="alert">
            {formProblem}
          </p>
        )}
        <button type="submit" className="primary" disabled={provision.isPending || templates.isPending}>
          {provision.isPending ? 'Provisioning…' : 'Provision the fleet'}
        </button>
      </form>
    </section>
  );
}
