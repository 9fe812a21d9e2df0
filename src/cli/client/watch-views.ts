import type { Fleet } from './fleet-types.ts';
import { STATUS_MEANING } from './fleet-types.ts';
import { formatDuration, type StepRow, stepRows } from './step-rows.ts';

/**
 * How `status --watch` shows a fleet that changes: in a terminal, the steps redrawn in place
 * (a spinner on the running step, durations on done ones, the error on a failed one); elsewhere
 * (a pipe, a CI log), one plain line per change.
 */
export interface WatchView {
  update(fleet: Fleet | null): void;
  /** The last state, drawn for good. */
  finish(fleet: Fleet | null): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 100;
const STEP_WIDTH = 'workspace_bootstrap'.length;

interface Paint {
  green(s: string): string;
  red(s: string): string;
  dim(s: string): string;
  cyan(s: string): string;
}
const sgr = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const COLOURS: Paint = { green: sgr(32), red: sgr(31), dim: sgr(2), cyan: sgr(36) };
const PLAIN: Paint = { green: (s) => s, red: (s) => s, dim: (s) => s, cyan: (s) => s };

export interface FrameOptions {
  /** Which spinner frame to draw. */
  tick: number;
  now: number;
  colour: boolean;
}

/** The lines of one terminal frame: a status line, then one line per step. */
export function renderFrame(fleet: Fleet | null, opts: FrameOptions): string[] {
  const paint = opts.colour ? COLOURS : PLAIN;
  if (!fleet) return [paint.dim('No fleet yet: waiting for one to be provisioned (fleet provision; Ctrl-C stops watching).')];
  const status = fleet.status === 'error' ? paint.red(fleet.status) : fleet.status === 'active' ? paint.green(fleet.status) : fleet.status;
  return [
    `fleet ${status}: ${STATUS_MEANING[fleet.status]}`,
    ...stepRows(fleet.provisionLog, fleet.status).map((r) => stepLine(r, opts, paint)),
  ];
}

function stepLine(r: StepRow, opts: FrameOptions, paint: Paint): string {
  const name = r.step.padEnd(STEP_WIDTH);
  const took = r.durationMs === null ? '' : formatDuration(r.durationMs);
  switch (r.state) {
    case 'complete':
      return `${paint.green('✓')} ${name}  ${took.padEnd(7)} ${paint.dim(r.message ?? '')}`.trimEnd();
    case 'error':
      return `${paint.red('✗')} ${name}  ${took.padEnd(7)} ${paint.red(r.message ?? 'failed')}`;
    case 'running': {
      const elapsed = r.at ? formatDuration(Math.max(0, opts.now - Date.parse(r.at))) : '';
      return `${paint.cyan(SPINNER[opts.tick % SPINNER.length]!)} ${name}  ${elapsed.padEnd(7)} ${r.message ?? ''}`.trimEnd();
    }
    case 'queued':
      return `${paint.dim('…')} ${name}  ${''.padEnd(7)} ${paint.dim('queued to run again')}`;
    default:
      return paint.dim(`· ${r.step}`);
  }
}

/** Redraws the frame in place. Lines are cut to the terminal's width: a wrapped line would break the redraw. */
export class TerminalWatchView implements WatchView {
  private drawn = 0;
  private tick = 0;
  /** Undefined until the stream's first event: nothing is known before it, not even "no fleet". */
  private fleet: Fleet | null | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly colour: boolean,
  ) {
    this.timer = setInterval(() => {
      this.tick++;
      this.draw(false);
    }, FRAME_MS);
  }

  update(fleet: Fleet | null): void {
    this.fleet = fleet;
    this.draw(false);
  }

  finish(fleet: Fleet | null): void {
    clearInterval(this.timer);
    this.fleet = fleet;
    this.draw(true);
  }

  private draw(final: boolean): void {
    if (this.fleet === undefined) return;
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const lines = renderFrame(this.fleet, { tick: this.tick, now: Date.now(), colour: this.colour }).map((l) =>
      final ? l : cutToWidth(l, width),
    );
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
    this.out.write(`${up}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}

/** Cuts a line to `width` visible characters, keeping its colour codes (ESC [ … m) whole. */
function cutToWidth(line: string, width: number): string {
  const ESC = '\u001b';
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === ESC) {
      const end = line.indexOf('m', i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible === width) return `${out}${ESC}[0m`;
    out += line[i];
    visible++;
  }
  return out;
}

/** One line per status change and per new log entry, for pipes and logs. */
export class PlainWatchView implements WatchView {
  private printed = 0;
  private status: string | undefined;

  constructor(private readonly write: (line: string) => void) {}

  update(fleet: Fleet | null): void {
    if (!fleet) {
      if (this.status === undefined) this.write('no fleet yet: waiting for one to be provisioned');
      this.status = 'none';
      return;
    }
    // The entries first, then the status they led to: a fleet first seen settled ends on its status too.
    for (const e of fleet.provisionLog.slice(this.printed)) {
      const took = e.durationMs === null ? '' : ` (${formatDuration(e.durationMs)})`;
      this.write(`${e.createdAt} ${e.step} ${e.status}${took}${e.message ? `: ${e.message}` : ''}`);
    }
    this.printed = fleet.provisionLog.length;
    if (fleet.status !== this.status) {
      this.write(`status ${fleet.status}: ${STATUS_MEANING[fleet.status]}`);
      this.status = fleet.status;
    }
  }

  finish(fleet: Fleet | null): void {
    this.update(fleet);
  }
}
