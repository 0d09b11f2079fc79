/**
 * The module dependency rules of docs/architecture.md, checked by `npm run lint` (so a wrong import
 * fails CI). Paths are relative to the repository root.
 */
const FEATURES = 'src/(auth|binding|payment|user|admin|internal|wechat-callback|health|static|sandbox|console)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules depend one way; a cycle means two modules are really one, or a piece belongs lower down.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'callbacks-only-through-internal-api',
      severity: 'error',
      comment:
        'The URLs WeChat calls never touch the database: they reach the services only through the InternalApi port ' +
        '(in process or over signed HTTP in the split plan).',
      from: { path: '^src/wechat-callback/' },
      to: { path: ['^src/(auth|binding|payment|user|admin|database|console)/', '^node_modules/typeorm/'] },
    },
    {
      name: 'sandbox-only-from-the-root-module',
      severity: 'error',
      comment: 'The WeChat simulator is mounted by app.module.ts alone (development and tests); nothing else may depend on it.',
      from: { path: '^src/', pathNot: ['^src/sandbox/', '^src/app\\.module\\.ts$'] },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'sandbox-sides-stay-apart',
      severity: 'error',
      comment:
        'Inside the simulator (docs/sandbox.md "Code layout"): core/ (state and plumbing) knows no side; mp/ (the official account) and pay/ (WeChat Pay) know neither each other nor ui/, the pages and controls that drive both.',
      from: { path: '^src/sandbox/(core|mp|pay)/' },
      to: { path: ['^src/sandbox/(mp|pay|ui)/', '^src/sandbox/sandbox\\.module\\.ts$'], pathNot: '^src/sandbox/$1/' },
    },
    {
      name: 'protocol-code-is-a-leaf',
      severity: 'error',
      comment: 'src/wechat/ is protocol code (signatures, crypto, XML, API clients): it knows no feature module.',
      from: { path: '^src/wechat/' },
      to: { path: `^${FEATURES}` },
    },
    {
      name: 'pay-notify-does-not-call-wechat-pay',
      severity: 'error',
      comment:
        'src/wechat/pay/notify/ verifies what WeChat Pay sends us; the API clients (client/) may use its verification, ' +
        'never the other way (wechatpay-go core/notify vs core/client).',
      from: { path: '^src/wechat/pay/notify/' },
      to: { path: '^src/wechat/pay/client/' },
    },
    {
      name: 'pay-crypto-and-wire-are-shared-leaves',
      severity: 'error',
      comment: 'Signing, crypto (crypto/) and WeChat Pay formats (wire/) serve both directions and know neither.',
      from: { path: '^src/wechat/pay/(crypto|wire)/' },
      to: { path: '^src/wechat/pay/(notify|client)/' },
    },
    {
      name: 'common-and-config-are-leaves',
      severity: 'error',
      comment: 'Shared plumbing and configuration are imported by everything and import no feature.',
      from: { path: '^src/(common|config)/' },
      to: { path: [`^${FEATURES}`, '^src/(wechat|database)/'] },
    },
    {
      name: 'database-is-plumbing',
      severity: 'error',
      comment:
        'database/ (connection, migrations, SQL helpers) knows no feature: the entity list is composed in ' +
        'src/entities.ts and handed to DatabaseModule.forRoot by app.module.ts.',
      from: { path: '^src/database/' },
      to: { path: [`^${FEATURES}`, '^src/(wechat|metrics|process)/', '^src/[^/]+\\.ts$'] },
    },
    {
      name: 'metrics-is-plumbing',
      severity: 'error',
      comment: 'Metrics are recorded by every layer (protocol clients included), so they depend on no feature.',
      from: { path: '^src/metrics/' },
      to: { path: `^${FEATURES}` },
    },
    {
      name: 'user-does-not-know-payment-or-auth',
      severity: 'error',
      comment: 'payment → user, auth → user and binding → user, never the other way.',
      from: { path: '^src/user/' },
      to: { path: '^src/(payment|auth|binding|internal|admin|wechat-callback)/' },
    },
    {
      name: 'admin-routes-are-a-leaf',
      severity: 'error',
      comment:
        'admin/ mounts the api/v1/admin routes over the feature services; only the root module and the console ' +
        '(which shares its support service) import it.',
      from: { path: '^src/', pathNot: ['^src/admin/', '^src/console/', '^src/app\\.module\\.ts$'] },
      to: { path: '^src/admin/' },
    },
    {
      name: 'entities-belong-to-their-module',
      severity: 'error',
      comment:
        "A table's entity is its owner's (docs/data.md \"Tables\"): user's, binding's and payment's tables are " +
        "read and written only through the owner's exported services (UserService, UserQueryService, UserStatsService, " +
        'LedgerService, BindingService, PaymentQueryService, AnomalyService, the refund services); src/entities.ts ' +
        'registers the entities. Raw SQL naming a table outside its owner is caught by src/table-ownership.spec.ts.',
      from: { path: '^src/([^/]+)/', pathNot: '^src/entities\\.ts$' },
      to: { path: '^src/[^/]+/entities/', pathNot: '^src/$1/entities/' },
    },
    {
      name: 'binding-knows-only-user',
      severity: 'error',
      comment:
        'binding/ (QR scenes, desktop bindings, check-follow) builds on user/ and nothing else of the features: ' +
        'the push path (internal) and the console call it, it calls none of them.',
      from: { path: '^src/binding/' },
      to: { path: `^${FEATURES}`, pathNot: '^src/(binding|user)/' },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '\\.spec\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
