// probe.mjs - preloaded into a guide example (node --import ./probe.mjs) by guide.mjs: records
// every write to stdout with its time, so that the test sees each token as the example wrote
// it (a pipe may join writes) and when. Written to $LLMR_PROBE_OUT at exit.
import fs from 'node:fs';

const log = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  log.push([Date.now(), String(chunk)]);
  return write(chunk, ...rest);
};
process.on('exit', () => {
  if (process.env.LLMR_PROBE_OUT) fs.writeFileSync(process.env.LLMR_PROBE_OUT, JSON.stringify(log));
});
