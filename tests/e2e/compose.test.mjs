// compose.yaml is for users and there is no Docker engine in CI: check its structure instead.
// postgres (healthcheck, volume) and keyledger (built from scripts/Dockerfile, migrate then
// serve, configured from the environment and a compose secret, started once postgres is healthy).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import YAML from 'yaml';

const repo_root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const compose_path = path.join(repo_root, 'compose.yaml');

function load() {
  const doc = YAML.parseDocument(readFileSync(compose_path, 'utf8'), { prettyErrors: true });
  assert.deepEqual(doc.errors.map(String), [], 'compose.yaml parses without errors');
  assert.deepEqual(doc.warnings.map(String), [], 'compose.yaml parses without warnings');
  return doc.toJS();
}

/// Compose allows environment as a map or a list of KEY=VALUE.
function env_of(service) {
  const e = service.environment ?? {};
  if (!Array.isArray(e)) return e;
  return Object.fromEntries(
    e.map((kv) => {
      const i = kv.indexOf('=');
      return i < 0 ? [kv, undefined] : [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}

/// The command as one string, whichever form it is written in.
function command_text(service) {
  const c = service.command;
  return Array.isArray(c) ? c.join(' ') : String(c ?? '');
}

/// Strips ${VAR:-default} interpolation down to its default.
function with_defaults(text) {
  return String(text).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

test('compose.yaml has exactly the postgres and keyledger services', () => {
  const c = load();
  assert.deepEqual(Object.keys(c.services).sort(), ['keyledger', 'postgres']);
});

test('postgres: PostgreSQL 15, a healthcheck and a persistent volume', () => {
  const c = load();
  const pg = c.services.postgres;
  assert.match(pg.image, /^postgres:15(\.|-|$)/);
  assert.ok(pg.healthcheck, 'postgres has a healthcheck');
  const probe = Array.isArray(pg.healthcheck.test) ? pg.healthcheck.test.join(' ') : pg.healthcheck.test;
  assert.match(probe, /pg_isready/);
  assert.ok(Array.isArray(pg.volumes) && pg.volumes.length > 0, 'postgres has a volume');
  const volume = String(pg.volumes[0]).split(':')[0];
  assert.ok(c.volumes && volume in c.volumes, `volume ${volume} is declared at the top level`);
  assert.match(String(pg.volumes[0]), /:\/var\/lib\/postgresql\/data$/);
  const env = env_of(pg);
  assert.ok(env.POSTGRES_DB, 'POSTGRES_DB is set');
  assert.ok(env.POSTGRES_USER, 'POSTGRES_USER is set');
  assert.ok(env.POSTGRES_PASSWORD || env.POSTGRES_PASSWORD_FILE, 'a password is configured');
  assert.match(String(env.POSTGRES_INITDB_ARGS ?? ''), /UTF8/, 'the database is UTF8');
});

test('keyledger: built from a Dockerfile that exists', () => {
  const c = load();
  const k = c.services.keyledger;
  assert.ok(k.build && typeof k.build === 'object', 'keyledger has a build section');
  const context = path.resolve(repo_root, k.build.context ?? '.');
  assert.equal(context, repo_root, 'the build context is the repository root');
  const dockerfile = path.join(context, k.build.dockerfile ?? 'Dockerfile');
  assert.ok(existsSync(dockerfile), `${dockerfile} exists`);

  const text = readFileSync(dockerfile, 'utf8');
  const stages = text.match(/^FROM\s+\S+/gim) ?? [];
  assert.ok(stages.length >= 2, 'multi-stage build');
  for (const s of stages) assert.match(s, /debian:(12|bookworm)/, `${s} is Debian 12`);
  assert.match(text, /cmake --build/, 'the build stage builds with CMake');
  const user = /^USER\s+(\S+)/im.exec(text);
  assert.ok(user, 'the image sets a USER');
  assert.doesNotMatch(user[1], /^(root|0)(:|$)/, 'the runtime user is not root');
  const runtime = text.slice(text.lastIndexOf('\nFROM'));
  assert.doesNotMatch(runtime, /-dev\b/, 'the runtime stage installs no -dev package');
  assert.match(runtime, /COPY --from=\S+ \S*keyledger/, 'the runtime stage copies the binary');
});

test('keyledger: environment, secret, command, dependency and port', () => {
  const c = load();
  const k = c.services.keyledger;
  const env = env_of(k);

  const db = new URL(with_defaults(env.DATABASE_URL));
  assert.match(db.protocol, /^postgres(ql)?:$/);
  assert.equal(db.hostname, 'postgres', 'DATABASE_URL points at the postgres service');
  const pg_env = env_of(c.services.postgres);
  assert.equal(db.pathname, `/${pg_env.POSTGRES_DB}`, 'DATABASE_URL names the POSTGRES_DB database');
  assert.equal(decodeURIComponent(db.username), pg_env.POSTGRES_USER);

  assert.equal(env.KEYLEDGER_LISTEN, '0.0.0.0:8080');

  // The server secret comes from a compose secret, mounted under /run/secrets.
  const secrets = (k.secrets ?? []).map((s) => (typeof s === 'string' ? { source: s } : s));
  assert.ok(secrets.length > 0, 'keyledger uses a compose secret');
  const secret = secrets.find((s) => env.KEYLEDGER_SECRET_FILE === `/run/secrets/${s.target ?? s.source}`);
  assert.ok(secret, `KEYLEDGER_SECRET_FILE (${env.KEYLEDGER_SECRET_FILE}) is a mounted compose secret`);
  assert.ok(c.secrets && c.secrets[secret.source], `secret ${secret.source} is declared at the top level`);
  assert.ok(c.secrets[secret.source].file || c.secrets[secret.source].environment, 'the secret has a source');

  const cmd = command_text(k);
  const migrate = cmd.indexOf('keyledger migrate');
  const serve = cmd.indexOf('keyledger serve');
  assert.ok(migrate >= 0 && serve > migrate, `command migrates, then serves: ${cmd}`);
  assert.match(cmd, /migrate\s*&&/, 'serve runs only if migrate succeeded');

  assert.equal(k.depends_on?.postgres?.condition, 'service_healthy', 'keyledger waits for a healthy postgres');

  const ports = (k.ports ?? []).map(String);
  assert.ok(ports.some((p) => /(^|:)8080:8080$/.test(p)), `port 8080 is published: ${ports}`);
});
