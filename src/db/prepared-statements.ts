import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * A pg client that sends each parameterised statement as a named prepared statement, so the
 * server parses and plans it once per connection instead of at every execution. Measured on the
 * provision pipeline, parse and bind (where PostgreSQL plans an unnamed statement) were about
 * half of the server's time per run: our hot statements are CTEs that write a log entry, an event
 * and its NOTIFY in one round trip, costly to plan and cheap to run.
 *
 * What is not prepared, and why:
 *  - statements without parameters (BEGIN, COMMIT, migrations' multi-statement scripts): the
 *    simple protocol runs them as they are, and a script cannot be prepared;
 *  - statements that select or return `*` (`select *`, `t.*`, `returning *`): a
 *    prepared plan's row type is fixed, so a column added by an expand migration while this
 *    process runs would make PostgreSQL refuse the statement ("cached plan must not change result
 *    type") until the process restarts. Explicit column lists are safe: added columns are not
 *    theirs, and a contract migration drops only what no deployed code reads;
 *  - more than MAX_PER_CONNECTION distinct statements on one connection (texts that vary, such as
 *    `IN` lists of every length): the server keeps each plan for the connection's life.
 *
 * Off with FLEET_DB_PREPARED_STATEMENTS=false, for poolers in transaction mode (PgBouncer before
 * 1.21) that cannot keep a connection's prepared statements.
 */
const MAX_PER_CONNECTION = 300;

export class PreparingClient extends pg.Client {
  private readonly prepared = new Set<string>();

  // pg's query() has many overloads; Kysely calls query(text, values) and query(cursor).
  // biome-ignore lint/suspicious/noExplicitAny: forwarded untouched to pg's own overloads
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && preparable(config)) {
      const name = statementName(config);
      if (this.prepared.has(name) || this.prepared.size < MAX_PER_CONNECTION) {
        this.prepared.add(name);
        return super.query({ name, text: config, values }, callback);
      }
    }
    return super.query(config, values, callback);
  }
}

/** `select *`, `, *`, `returning *` and `t.*`; not `count(*)` or a multiplication. */
const WHOLE_ROW = /\.\*|(?:\bselect|\breturning|,)\s*\*/i;
const preparable = (text: string) => !WHOLE_ROW.test(text);

/** The same text gets the same name on every connection (pg refuses one name for two texts). */
const statementName = (text: string) => `af_${createHash('sha1').update(text).digest('base64url')}`;
