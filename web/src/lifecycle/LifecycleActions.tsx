import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { FleetStatus } from '../../../src/domain/fleet.ts';
import { ApiProblem } from '../api.ts';
import { TextField } from '../Field.tsx';
import { ConfirmByTyping } from './ConfirmByTyping.tsx';
import { type LifecycleVerb, VERB_HINT, VERB_LABEL, verbsFor } from './lifecycle-model.ts';

export type RunVerb = (verb: LifecycleVerb, body?: { reason: string }) => Promise<unknown>;

/**
 * The lifecycle buttons a fleet's status allows, for someone who may use them (callers draw none
 * for a read-only member). The buttons follow the status as the event stream changes it; an API
 * refusal is shown as the API's own message.
 */
export function LifecycleActions(props: {
  status: FleetStatus;
  run: RunVerb;
  /** What deprovision asks to be typed, and how to name it ("the tenant id"). */
  confirm: { expected: string; named: string };
  /** The platform must say why it suspends (shown in the tenant's log). */
  reasonRequired?: boolean;
}) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | undefined>();
  const action = useMutation({ mutationFn: ({ verb, body }: { verb: LifecycleVerb; body?: { reason: string } }) => props.run(verb, body) });
  const verbs = verbsFor(props.status);

  const start = (verb: LifecycleVerb) => {
    setReasonError(undefined);
    if (verb === 'deprovision') return setConfirming(true);
    if (verb === 'suspend' && props.reasonRequired) {
      if (reason.trim() === '') {
        setReasonError('Say why the fleet is suspended (billing, abuse, admin…): the tenant sees it in the log.');
        document.getElementById('suspend-reason')?.focus();
        return;
      }
      return action.mutate({ verb, body: { reason: reason.trim() } });
    }
    action.mutate({ verb });
  };

  if (verbs.length === 0) return null;
  return (
    <section className="lifecycle" aria-labelledby="lifecycle-heading">
      <h2 id="lifecycle-heading">Actions</h2>
      {verbs.includes('suspend') && props.reasonRequired && (
        <TextField id="suspend-reason" label="Reason for suspending" value={reason} onChange={setReason} error={reasonError} />
      )}
      <ul className="plain action-list">
        {verbs.map((verb) => (
          <li key={verb}>
            <button
              type="button"
              className={verb === 'deprovision' ? 'danger' : undefined}
              disabled={action.isPending}
              aria-describedby={`hint-${verb}`}
              onClick={() => start(verb)}
            >
              {action.isPending && action.variables?.verb === verb ? 'Working…' : VERB_LABEL[verb]}
            </button>
            <span id={`hint-${verb}`} className="hint">
              {VERB_HINT[verb]}
            </span>
          </li>
        ))}
      </ul>
      {action.isError && (
        <p className="error" role="alert" data-testid="action-error">
          {action.error instanceof ApiProblem ? action.error.message : String(action.error)}
        </p>
      )}
      {confirming && (
        <ConfirmByTyping
          id="confirm-deprovision"
          title="Deprovision this fleet?"
          what={VERB_HINT.deprovision}
          expected={props.confirm.expected}
          named={props.confirm.named}
          confirmLabel="Deprovision"
          onConfirm={() => action.mutate({ verb: 'deprovision' })}
          onClose={() => setConfirming(false)}
        />
      )}
    </section>
  );
}
