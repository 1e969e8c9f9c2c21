/**
 * pnpm oracle [--backend cpu|wasm] [FILES or DIRS…]
 * Checks every whole-model oracle file (meta.kind == "model"; default: fixtures/oracle/vectors) with this package's
 * checkModelOracle (the runner lives in @gmr-conv/test-utils, shared with kernels-cuda's oracle test).
 * One line per file, then `N passed, N failed`; exit code 1 on any failure.
 */
import { modelOracleMain } from '@gmr-conv/test-utils/oracle/model';

await modelOracleMain(process.argv.slice(2));
