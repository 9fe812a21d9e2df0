import type { ReactNode } from 'react';

/**
 * A labelled form field whose error, the browser's or the API's, is text right below it, tied to
 * the control with aria-describedby so a screen reader reads it with the field.
 */
export function Field(props: { id: string; label: string; error?: string; hint?: string; children: (aria: AriaProps) => ReactNode }) {
  const errorId = `${props.id}-error`;
  const hintId = `${props.id}-hint`;
  const describedBy = [props.hint ? hintId : undefined, props.error ? errorId : undefined].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      {props.hint && (
        <p id={hintId} className="hint">
          {props.hint}
        </p>
      )}
      {props.children({ id: props.id, 'aria-describedby': describedBy, 'aria-invalid': props.error ? true : undefined })}
      {props.error && (
        <p id={errorId} className="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

export type AriaProps = { id: string; 'aria-describedby': string | undefined; 'aria-invalid': true | undefined };

/** A one-line text input in a Field. */
export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint?: string;
  type?: 'text' | 'password' | 'url';
  required?: boolean;
}) {
  return (
    <Field id={props.id} label={props.label} error={props.error} hint={props.hint}>
      {(aria) => (
        <input
          {...aria}
          type={props.type ?? 'text'}
          value={props.value}
          required={props.required}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}
