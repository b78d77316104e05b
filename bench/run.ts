/** `npm run bench`: every benchmark of the package; the last line is machine-readable. */
import { runBatchBench } from './batch';

const summary = runBatchBench();
process.stdout.write(`\n${summary}\n`);
