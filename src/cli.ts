/** The `smk` entry point (bin/smk.js and `npm run smk`). */
import { main } from './cli/program.js';

await main(process.argv);
