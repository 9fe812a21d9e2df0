/**
 * What a tenant's provision log may say about files: paths relative to its machine, never where
 * the control plane keeps things on its own disk (the data dir with every tenant's machine and the
 * control plane's keys, the shared runtime). Errors from the operating system, git or the gateway
 * name absolute paths; every message a run stores passes through `machineRelative` first.
 */
export interface ServerPaths {
  /** The machine's root as the control plane sees it (its host's `resolve('.')`), when known. */
  machineRoot?: string;
  dataDir: string;
  runtimeCacheDir: string;
}

export function machineRelative(message: string, paths: ServerPaths): string {
  const replacements: Array<[string, string]> = [
    ...(paths.machineRoot
      ? ([
          [`${paths.machineRoot}/`, ''],
          [paths.machineRoot, '.'],
        ] as Array<[string, string]>)
      : []),
    [paths.dataDir, '<data dir>'],
    [paths.runtimeCacheDir, '<runtime>'],
  ];
  // Longest first: the machine root lies inside the data dir and must win over it.
  replacements.sort((a, b) => b[0].length - a[0].length);
  let out = message;
  for (const [from, to] of replacements) if (from.length > 1) out = out.split(from).join(to);
  return out;
}
