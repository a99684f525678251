import Fastify from 'fastify';

// The machine's ceiling, measured in the same run as the service: a Fastify hello-world in a
// process of its own, on loopback, answering a small JSON body with no database behind it.

const app = Fastify({ logger: false });
app.get('/api/hello', async () => ({ hello: 'world' }));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ type: 'listening', address });
process.on('disconnect', () => void app.close().then(() => process.exit(0)));
