/**
 * pnpm oracle [files or folders] [--backend NAME]: the layer, 45° and reference-behaviour oracle files checked against
 * this package (the checks live in @gmr-conv/test-utils, shared with the kernel packages' oracle tests).
 */
import { oracleMain } from '@gmr-conv/test-utils/oracle/cli';

await oracleMain(process.argv);
