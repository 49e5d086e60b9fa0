// Run rserver on demand: the first request starts it, a crash is reported and the next request
// starts a new one.
//   node docs/examples/supervise.js
import { createSupervisor } from 'rsession-proxy';

const supervisor = createSupervisor({ instance: 'example-supervised' });
supervisor.on('state', (state) => console.log(`state: ${state}`));
supervisor.on('crash', (error) => console.error(`crashed: ${error.message}`));

const { socketPath } = await supervisor.ensureRunning();
console.log(`ready on ${socketPath}`);

process.once('SIGINT', async () => {
  await supervisor.close();
  console.log('closed');
});
