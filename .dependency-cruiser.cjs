/**
 * The layers of src/ and the direction imports may take (docs/architecture.md, "Layers"):
 *
 *   cli, server.ts, runtime/   composition: build everything, may import anything
 *   api/                       HTTP adapter over services/ (plus reads from db/)
 *   services/                  the verbs: validate, record intent, enqueue
 *   pipeline/                  runs and their steps
 *   gateway/ workspace/ connectivity/ compute/ hosts/   drivers: machines and the outside world
 *   db/  events/               PostgreSQL: every query lives in db/
 *   domain/ util/ secrets/ auth/ templates/ observability/ config.ts   leaves
 *
 * A wrong import fails `npm run layers` (and CI). Type-only imports count: a type is a dependency too.
 */
const DRIVERS = '(hosts|compute|gateway|workspace|connectivity)';
const ABOVE_DRIVERS = '(db|events|pipeline|services|api|cli|runtime|server\\.ts|config\\.ts)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Layers point one way; a cycle means two modules are one concept.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain has no I/O and depends on nothing else of ours.',
      from: { path: '^src/domain/' },
      to: { path: '^src/(?!domain/)' },
    },
    {
      name: 'leaves-stay-leaves',
      severity: 'error',
      comment: 'util, secrets, auth, templates, observability and config.ts are used by every layer and use none above them.',
      from: { path: '^src/(util|secrets|auth|templates|observability)/|^src/config\\.ts$' },
      to: { path: `^src/(db|events|${DRIVERS.slice(1, -1)}|pipeline|services|api|cli|runtime|server\\.ts)` },
    },
    {
      name: 'db-below-everything-that-acts',
      severity: 'error',
      comment: 'db/ knows tables, not drivers, runs or transports.',
      from: { path: '^src/(db|events)/' },
      to: { path: `^src/(${DRIVERS.slice(1, -1)}|pipeline|services|api|cli|runtime|server\\.ts)` },
    },
    {
      name: 'drivers-know-no-database',
      severity: 'error',
      comment: 'Drivers work on machines and outside services; what to do comes from the pipeline, never from a query.',
      from: { path: `^src/${DRIVERS}/` },
      to: { path: `^src/${ABOVE_DRIVERS}` },
    },
    {
      name: 'pipeline-below-services',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(services|api|cli|runtime|server\\.ts)' },
    },
    {
      name: 'services-know-no-transport-or-driver',
      severity: 'error',
      comment: 'A verb records intent and enqueues; it never talks HTTP or touches a machine.',
      from: { path: '^src/services/' },
      to: { path: `^src/(api|cli|runtime|server\\.ts|${DRIVERS.slice(1, -1)})` },
    },
    {
      name: 'api-goes-through-services',
      severity: 'error',
      comment: 'Routes are thin adapters: they call verbs (src/services), never the pipeline or a driver.',
      from: { path: '^src/api/' },
      to: { path: `^src/(pipeline|cli|runtime|server\\.ts|${DRIVERS.slice(1, -1)})` },
    },
    {
      name: 'product-code-uses-no-test-code',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
