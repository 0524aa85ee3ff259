// /api/v1/authority/users: console users for `stella users …`, behind authority:admin (the bootstrap
// admin client). Thin: the rules live in users.ts.
import type { Db, HttpApp } from '@stella/platform';
import Type, { type Static } from 'typebox';
import {
  createUser,
  grantTenant,
  listUsers,
  MAX_PASSWORD_LENGTH,
  ROLES,
  setPassword,
  setUserDisabled,
} from './users.ts';

const ADMIN = { auth: { scopes: ['authority:admin'], tenant: false as const } };

const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: 'admin, operator, viewer or auditor; the scopes of each are listed in docs/console.md.' },
);
const Membership = Type.Object(
  { tenant: Type.String({ maxLength: 63 }), role: RoleSchema },
  { additionalProperties: false },
);
const Password = Type.String({ minLength: 12, maxLength: MAX_PASSWORD_LENGTH });

const UserSchema = Type.Object({
  name: Type.String(),
  disabled: Type.Boolean(),
  roles: Type.Record(Type.String(), Type.String(), { description: 'tenant → role' }),
  password: Type.Optional(Type.String({ description: 'Only when stella generated it; shown this once.' })),
});
const NameParams = Type.Object({ name: Type.String({ maxLength: 64 }) });

const CreateBody = Type.Object(
  {
    name: Type.String({ maxLength: 64 }),
    password: Type.Optional(Password),
    tenants: Type.Array(Membership, { minItems: 1, maxItems: 256 }),
  },
  { additionalProperties: false },
);
const PasswordBody = Type.Object({ password: Type.Optional(Password) }, { additionalProperties: false });

export function registerUserRoutes(app: HttpApp, db: Db): void {
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/authority/users',
    {
      config: ADMIN,
      schema: {
        tags: ['authority'],
        summary: 'Create a console user with a role in one or more tenants',
        description: 'Without a password one is generated and returned once.',
        body: CreateBody,
        response: { 201: UserSchema },
      },
    },
    async (request, reply) => {
      const user = await createUser(db, request.body);
      request.log.info({ user: user.name, roles: user.roles }, 'console user created');
      return reply.code(201).send(user);
    },
  );

  app.get(
    '/api/v1/authority/users',
    {
      config: ADMIN,
      schema: {
        tags: ['authority'],
        summary: 'List console users with their roles',
        response: { 200: Type.Object({ items: Type.Array(UserSchema) }) },
      },
    },
    async () => ({ items: await listUsers(db) }),
  );

  app.put<{ Params: Static<typeof NameParams>; Body: Static<typeof Membership> }>(
    '/api/v1/authority/users/:name/tenants',
    {
      config: ADMIN,
      schema: {
        tags: ['authority'],
        summary: 'Give a user a role in a tenant (or change the role they have there)',
        params: NameParams,
        body: Membership,
        response: { 200: UserSchema },
      },
    },
    async (request) => grantTenant(db, request.params.name, request.body.tenant, request.body.role),
  );

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post<{ Params: Static<typeof NameParams> }>(
      `/api/v1/authority/users/:name/${verb}`,
      {
        config: ADMIN,
        schema: {
          tags: ['authority'],
          summary: disabled
            ? 'Disable a user: sign-in refused, sessions and unredeemed codes ended at once'
            : 'Enable a disabled user again',
          params: NameParams,
          response: { 200: UserSchema },
        },
      },
      async (request) => {
        const user = await setUserDisabled(db, request.params.name, disabled);
        request.log.info({ user: user.name }, `console user ${verb}d`);
        return user;
      },
    );
  }

  app.put<{ Params: Static<typeof NameParams>; Body: Static<typeof PasswordBody> }>(
    '/api/v1/authority/users/:name/password',
    {
      config: ADMIN,
      schema: {
        tags: ['authority'],
        summary: "Set a user's password (generated when none is sent); their sessions end",
        params: NameParams,
        body: PasswordBody,
        response: { 200: UserSchema },
      },
    },
    async (request) => setPassword(db, request.params.name, request.body.password),
  );
}
