/** A machine the pipeline works on: the local host today, an SSH host for GCP VMs later. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface ExecOptions {
  /** Relative to the host's root. */
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Host {
  /** Absolute path of `rel` inside the host's root; throws for anything that escapes it. */
  resolve(rel: string): string;
  mkdirp(rel: string): Promise<void>;
  writeFileAtomic(rel: string, data: string | Buffer, mode?: number): Promise<void>;
  readFile(rel: string): Promise<string>;
  exists(rel: string): Promise<boolean>;
  rename(fromRel: string, toRel: string): Promise<void>;
  remove(rel: string): Promise<void>;
  exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult>;
}
