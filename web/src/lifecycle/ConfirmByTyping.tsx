import { type FormEvent, useEffect, useRef, useState } from 'react';

/**
 * A modal that asks for `expected` typed before it lets `onConfirm` run: for what cannot be undone.
 * The browser's own <dialog> keeps focus inside and closes on Escape.
 */
export function ConfirmByTyping(props: {
  id: string;
  title: string;
  what: string;
  expected: string;
  /** What `expected` is, in words ("your organisation id"). */
  named: string;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const matches = typed.trim() === props.expected;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!matches) return;
    ref.current?.close();
    props.onConfirm();
  };
  const inputId = `${props.id}-typed`;
  return (
    <dialog ref={ref} className="confirm" aria-labelledby={`${props.id}-title`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        <p id={`${props.id}-what`}>{props.what}</p>
        <div className="field">
          <label htmlFor={inputId}>
            Type {props.named}, <code>{props.expected}</code>, to confirm
          </label>
          <input
            id={inputId}
            value={typed}
            autoComplete="off"
            spellCheck={false}
            aria-describedby={`${props.id}-what`}
            onChange={(e) => setTyped(e.target.value)}
          />
        </div>
        <div className="actions">
          <button type="submit" className="danger" disabled={!matches}>
            {props.confirmLabel}
          </button>
          <button type="button" onClick={() => ref.current?.close()}>
            Keep it
          </button>
        </div>
      </form>
    </dialog>
  );
}
