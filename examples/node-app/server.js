// A small HTTP server with no dependencies. `node server.js` serves on $PORT until SIGTERM or
// SIGINT; `node server.js --once` serves one request to itself, prints it and exits.
import { readFileSync } from 'node:fs';
import { get, createServer } from 'node:http';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const once = process.argv.includes('--once');

const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(
    `hello from ${pkg.name} ${pkg.version} on Node ${process.version}, running as uid ${process.getuid()}\n`,
  );
});

// As PID 1 in a container, Node gets no default signal handlers: stop cleanly on our own.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));

if (once) {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        process.stdout.write(`GET / ${res.statusCode} ${body}`);
        server.close();
      });
    });
  });
} else {
  const port = Number(process.env.PORT ?? 8080);
  server.listen(port, () => console.log(`${pkg.name} listening on port ${port}`));
}
