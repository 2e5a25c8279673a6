// Sends one message file to an MLLP port with node-hl7-client and prints the ACK: `node client.cjs PORT FILE`.
const { Client, Message } = require('node-hl7-client');
const fs = require('fs');
const [port, file] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8').replace(/\r?\n/g, '\r').trim();
const client = new Client({ host: '127.0.0.1' });
const timer = setTimeout(() => { console.error('timeout'); process.exit(2); }, 15000);
const conn = client.createConnection({ port: Number(port), waitAck: true }, async (res) => {
  console.log('ACK ' + res.getMessage().get('MSA.1').toString() + ' ' + res.getMessage().get('MSA.2').toString());
  clearTimeout(timer);
  await conn.close();
  process.exit(0);
});
conn.sendMessage(new Message({ text }));
