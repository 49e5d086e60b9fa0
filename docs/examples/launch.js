// Start RStudio Server for yourself on a private socket, print where it listens, and stop it
// (with every R session it started) on Ctrl-C.
//   node docs/examples/launch.js
import { launchRServer } from 'rsession-proxy';

const rserver = await launchRServer({
  instance: 'example',
  rootPath: '/',
  logger: ({ level, message }) => level !== 'debug' && console.error(`[${level}] ${message}`),
});
console.log(`ready: pid ${rserver.pid}, socket ${rserver.socketPath}`);
console.log(`try: curl --unix-socket ${rserver.socketPath} http://localhost/`);

rserver.once('exit', ({ error }) => {
  if (error) console.error(error.message);
});
process.once('SIGINT', async () => {
  await rserver.stop();
  console.log('stopped');
});
