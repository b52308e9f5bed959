'use strict';
// A worker app of your own, in Node.js with node:http only.
//
// clusterbench starts one process per worker. It either hands the process
// a listening socket at fd 3 (LISTEN_FDS=1, LISTEN_PID, as systemd does) or
// tells it a port to listen on ($PORT). The worker's index is in
// WORKER_INDEX.
//
// This app names its worker, process and connection in every response, so
// the client counts each worker's requests and connections itself; the
// kernel's counts stand beside them. Without the headers, clusterbench
// counts in the kernel alone (see examples/python/app.py).
const http = require('node:http');

const worker = process.env.WORKER_INDEX;
let connections = 0;

const server = http.createServer((req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'Content-Length': 6,
    'X-Worker': worker,
    'X-Worker-Pid': process.pid,
    'X-Worker-Conn': req.socket.connectionID,
  });
  res.end('hello\n');
});
server.on('connection', (socket) => {
  socket.connectionID = ++connections;
});
server.keepAliveTimeout = 60 * 1000;

if (process.env.LISTEN_FDS === '1' && process.env.LISTEN_PID === String(process.pid)) {
  server.listen({ fd: 3 });
} else {
  server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
}
process.on('SIGTERM', () => server.close(() => process.exit(0)));
