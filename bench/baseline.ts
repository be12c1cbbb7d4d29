import http from 'node:http';

// The yardstick: the least a Node HTTP server can do per request on this
// machine. Every throughput figure of the run is also given as a share of it.
const port = Number(process.argv[2]);
const body = JSON.stringify({ hello: 'world' });
http
  .createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  })
  .listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
