// A private PostgreSQL 15 cluster for the tests that must stop or restart the database: the
// shared test cluster (KEYLEDGER_TEST_DATABASE_URL) serves other tests in parallel and must not
// be touched. initdb and pg_ctl from /usr/lib/postgresql/15/bin in a temp dir, on a free port;
// as root they run as the `postgres` OS user (PostgreSQL refuses to run as root), as
// scripts/dev does for its throwaway cluster. remove() stops it and deletes the dir; call it
// from after(), so that it goes on failure too.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { free_port } from './harness.mjs';

const pg_bin = process.env.KEYLEDGER_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const as_root = process.getuid?.() === 0;

function id_of(flag, user) {
  return new Promise((resolve, reject) => {
    execFile('id', [flag, user], (error, stdout) => (error ? reject(error) : resolve(Number(stdout.trim()))));
  });
}

/// Runs a PostgreSQL program (as `postgres` when we are root) to completion; rejects with its
/// output on a non-zero exit. stdio is not piped back: pg_ctl's server would hold the pipe.
async function run_pg(program, args, log_file) {
  const command = as_root ? 'runuser' : path.join(pg_bin, program);
  const argv = as_root ? ['-u', 'postgres', '--', path.join(pg_bin, program), ...args] : args;
  const child = spawn(command, argv, { cwd: '/', stdio: 'ignore' });
  const [code, signal] = await once(child, 'exit');
  if (code !== 0) {
    const log = log_file && existsSync(log_file) ? (await readFile(log_file, 'utf8')).slice(-2000) : '';
    throw new Error(`${program} ${args.join(' ')} failed (${code ?? signal})\n${log}`);
  }
}

/// Creates and starts the cluster. Resolves { port, admin_url, url_of(db), restart(mode),
/// stop(mode), remove(), log() }.
export async function start_private_cluster() {
  if (!existsSync(path.join(pg_bin, 'initdb'))) throw new Error(`no initdb in ${pg_bin} (postgresql-15)`);
  const dir = await mkdtemp(path.join(tmpdir(), 'keyledger-faults-pg-'));
  const data = path.join(dir, 'data');
  const run_dir = path.join(dir, 'run');
  const log_file = path.join(dir, 'postgres.log');
  let started = false;
  const cluster = {
    dir,
    port: null,
    admin_url: null,
    url_of(database) {
      return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
    },
    /// pg_ctl restart -m <mode> -w: resolves once the new server accepts connections.
    async restart(mode = 'fast') {
      await run_pg('pg_ctl', ['-D', data, '-l', log_file, '-m', mode, '-w', '-t', '60', 'restart'], log_file);
    },
    async stop(mode = 'fast') {
      if (!started) return;
      started = false;
      await run_pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'], log_file);
    },
    async log() {
      return existsSync(log_file) ? readFile(log_file, 'utf8') : '';
    },
    async remove() {
      try {
        if (started) await this.stop('immediate');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await chmod(dir, 0o755);
    await mkdir(run_dir);
    if (as_root) {
      const [uid, gid] = [await id_of('-u', 'postgres'), await id_of('-g', 'postgres')];
      await chown(dir, uid, gid);
      await chown(run_dir, uid, gid);
    }
    await run_pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--encoding=UTF8', '--locale=C']);
    // Throwaway data: durability is not the point here, the outage is.
    for (let attempt = 0; ; attempt++) {
      const port = await free_port();
      const opts = [
        '-c listen_addresses=127.0.0.1',
        `-c port=${port}`,
        `-c unix_socket_directories='${run_dir}'`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c max_connections=100',
      ].join(' ');
      try {
        await run_pg('pg_ctl', ['-D', data, '-l', log_file, '-o', opts, '-w', '-t', '60', 'start'], log_file);
        started = true;
        cluster.port = port;
        cluster.admin_url = cluster.url_of('postgres');
        return cluster;
      } catch (e) {
        if (attempt >= 4) throw e;  // the port was taken in between: another one
      }
    }
  } catch (e) {
    await cluster.remove().catch(() => {});
    throw e;
  }
}
