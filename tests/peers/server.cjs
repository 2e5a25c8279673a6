// Receives COUNT messages on PORT with node-hl7-server, answering AA: `node server.cjs PORT COUNT`.
const { Server } = require('node-hl7-server');
const [port, count] = process.argv.slice(2).map(Number);
const server = new Server({ bindAddress: '127.0.0.1' });
let seen = 0;
const timer = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);
const ib = server.createInbound({ port }, async (req, res) => {
  const msg = req.getMessage();
  console.log('GOT ' + msg.get('MSH.10').toString() + ' ' + msg.get('MSH.9.1').toString());
  await res.sendResponse('AA');
  seen += 1;
  if (seen >= count) {
    clearTimeout(timer);
    setTimeout(async () => { await ib.close(); process.exit(0); }, 200);
  }
});
console.log('READY');
