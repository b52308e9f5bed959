'use strict';
// The worker app of the node-rr and node-none modes: Node's own cluster
// module, serving the same HTTP contract as the Go worker. One script is
// the primary and every worker it forks: workers inherit the primary's
// `node -e SCRIPT`. It uses node:cluster and node:http only.
//
// The primary reads fork requests ({"fork": INDEX}) on stdin, until it
// closes, and writes JSON lines on stdout: "forked" with a worker's pid,
// each worker's counts ("counts": ready once, then every 100 ms while they
// change, final on SIGTERM) and "exit". The public listening socket is
// inherited at fd 3; NODE_CLUSTER_SCHED_POLICY decides whether the
// primary accepts and hands out connections (rr) or every worker accepts
// on it (none).
const cluster = require('node:cluster');
const http = require('node:http');

const env = process.env;
const handler = {
  bodyBytes: Number(env.CLUSTERBENCH_BODY_BYTES || 0),
  cpuMicros: Number(env.CLUSTERBENCH_HANDLER_CPU_US || 0),
  sleepMs: Number(env.CLUSTERBENCH_HANDLER_SLEEP_MS || 0),
  // A fraction of requests costs tailCpuMicros instead, as in the Go worker.
  tailFraction: Number(env.CLUSTERBENCH_HANDLER_TAIL_FRACTION || 0),
  tailCpuMicros: Number(env.CLUSTERBENCH_HANDLER_TAIL_CPU_US || 0),
};
const countsEveryMs = 100;

// spin is a fixed amount of busy work, counted in loop iterations so that
// a request costs the same however busy the machine is.
let sink = 0;
function spin(iterations) {
  let x = 88172645 | 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  sink ^= x;
}

// calibrate returns loop iterations per microsecond of CPU, best of five.
function calibrate() {
  const probe = 1 << 20;
  spin(probe);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = process.cpuUsage();
    spin(probe);
    const used = process.cpuUsage(start);
    best = Math.min(best, used.user + used.system);
  }
  return probe / (best + 1);
}

function primary() {
  // stdout is a pipe, which Node writes synchronously on Linux.
  const write = (line) => process.stdout.write(JSON.stringify(line) + '\n');
  const busy = handler.cpuMicros > 0 || (handler.tailFraction > 0 && handler.tailCpuMicros > 0);
  const spinRate = busy ? calibrate() : 0;

  // Ctrl-C reaches the whole process group: stopping is clusterbench's call.
  process.on('SIGINT', () => {});
  cluster.setupPrimary({ exec: 'worker' }); // argv[1] of `node -e SCRIPT worker`
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    lines.forEach((line) => fork(JSON.parse(line).fork));
  });
  process.stdin.on('end', () => {
    // clusterbench is done with us, or gone: the workers follow when
    // their channel to us closes.
    process.exit(0);
  });

  function fork(index) {
    const w = cluster.fork({ WORKER_INDEX: index, CLUSTERBENCH_SPIN_RATE: spinRate });
    const pid = w.process.pid;
    write({ event: 'forked', index, pid });
    w.on('message', (counts) => write({ event: 'counts', ...counts }));
    // Its last counts may still be in the channel when it exits: the exit
    // is told once the channel is drained (disconnect), or a little later
    // if a channel broken mid-message never says so.
    let told = false;
    const tell = (how) => {
      if (told) return;
      told = true;
      write({ event: 'exit', index, pid, exit: how });
    };
    let disconnected = false;
    w.on('disconnect', () => {
      disconnected = true;
    });
    w.on('exit', (code, signal) => {
      const how = signal ? `signal: ${signal}` : `exit status ${code}`;
      if (disconnected) tell(how);
      else {
        w.on('disconnect', () => tell(how));
        setTimeout(() => tell(how), 20);
        // Node forgets a worker's handles only when its channel says
        // disconnect; if that never comes, the primary keeps listening
        // after its last worker died. Close the dead worker's channel.
        setTimeout(() => w.process.connected && w.process.disconnect(), 200);
      }
    });
  }
}

function worker() {
  const index = Number(env.WORKER_INDEX);
  const spinRate = Number(env.CLUSTERBENCH_SPIN_RATE || 0);
  const iterations = Math.round(handler.cpuMicros * spinRate);
  const slowIterations = Math.round(handler.tailCpuMicros * spinRate);
  const body = Buffer.alloc(handler.bodyBytes, 'x');
  const counts = { requests: 0, connections: 0, warmup_requests: 0, accepted: 0 };
  let connIDs = 0;
  const snapshot = (extra) => {
    const cpu = process.cpuUsage();
    return { index, pid: process.pid, ...counts, cpu_seconds: (cpu.user + cpu.system) / 1e6, ...extra };
  };

  const server = http.createServer((req, res) => {
    const conn = req.socket.clusterbench;
    spin(handler.tailFraction > 0 && Math.random() < handler.tailFraction ? slowIterations : iterations);
    const respond = () => {
      res.writeHead(200, {
        'X-Worker': index,
        'X-Worker-Pid': process.pid,
        'X-Worker-Conn': conn.id,
        'Content-Type': 'text/plain',
        'Content-Length': body.length,
      });
      res.end(body);
    };
    // Counted once handed to the kernel, as the Go worker counts once written.
    res.on('finish', () => {
      if (req.headers['x-clusterbench-warmup']) {
        counts.warmup_requests++;
        return;
      }
      counts.requests++;
      if (!conn.counted) {
        conn.counted = true;
        counts.connections++;
      }
    });
    if (handler.sleepMs > 0) setTimeout(respond, handler.sleepMs);
    else respond();
  });
  server.keepAliveTimeout = 5 * 60 * 1000; // as the Go worker's idle timeout
  server.on('connection', (socket) => {
    counts.accepted++;
    socket.clusterbench = { id: ++connIDs, counted: false };
  });

  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {
    clearInterval(ticker);
    server.close(() => process.send(snapshot({ final: true }), () => process.exit(0)));
  });
  let last = '';
  const ticker = setInterval(() => {
    const now = JSON.stringify(counts);
    if (now !== last) {
      last = now;
      process.send(snapshot({}));
    }
  }, countsEveryMs);
  server.listen({ fd: 3 }, () => process.send(snapshot({ ready: true })));
}

if (cluster.isPrimary) primary();
else worker();
