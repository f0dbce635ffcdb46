/**
 * The loopback server, run as its own process by server.ts: in the client's event loop its CPU
 * would be billed to whichever client is being measured.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let served = 0;

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    const body = JSON.stringify({ id: `po_${++served}`, status: 'accepted', received: bytes });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// Measurements pause between clients and rounds; a connection dropped meanwhile would make the
// next client pay for a reconnect the others did not.
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

process.on('message', (message) => {
  if (message !== 'stop') return;
  const cpu = process.cpuUsage();
  process.send?.({ served, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
});
// The parent died without saying stop: do not linger as an orphan holding the port.
process.on('disconnect', () => process.exit(0));
