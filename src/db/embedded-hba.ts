import fs from 'node:fs';
import path from 'node:path';

/**
 * The embedded cluster's pg_hba.conf, rewritten at every start so that a cluster made by a
 * previous version (initdb `--auth=password`: the password crossed the socket in clear) is held
 * to the same rule as a new one: TCP on loopback only, SCRAM only. The server opens no Unix
 * socket (`unix_socket_directories` is empty), so no `local` line is needed.
 */
const HBA = `# Written by Agent Fleet at every start (src/db/embedded-hba.ts); edits here are replaced.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
`;

/** Writes the rules in place, keeping the file's owner (the server's OS user) and mode. */
export function writeHba(pgDir: string): void {
  const file = path.join(pgDir, 'pg_hba.conf');
  if (fs.readFileSync(file, 'utf8') !== HBA) fs.writeFileSync(file, HBA);
}
