// Times legitimate verifications from a process of its own, so that what a test does meanwhile
// in its own process (thousands of sockets, a garbage stream) does not delay the clock.
//   node latency_probe.mjs <port> <samples>   with the key in KEYLEDGER_PROBE_KEY (never argv:
//   a process list shows argv)
// Prints one JSON line: { fresh: [ms...], kept: [ms...] } - each sample a verification on a new
// connection, then one on a kept-alive connection; exits 1 on any answer other than 200 VALID.
import http from 'node:http';

const [port, samples] = process.argv.slice(2).map(Number);
const key = process.env.KEYLEDGER_PROBE_KEY;
const body = JSON.stringify({ key });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function verify(use_agent) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/keys/verify',
        agent: use_agent ? agent : false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const ms = performance.now() - started;
          const answer = JSON.parse(Buffer.concat(chunks).toString());
          if (res.statusCode !== 200 || answer.code !== 'VALID') reject(new Error(`${res.statusCode} ${answer.code}`));
          else resolve(ms);
        });
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const out = { fresh: [], kept: [] };
try {
  for (let i = 0; i < samples; i++) {
    out.fresh.push(await verify(false));
    out.kept.push(await verify(true));
  }
} catch (e) {
  console.error(`latency_probe: ${e.message}`);
  process.exit(1);
}
agent.destroy();
console.log(JSON.stringify(out));
