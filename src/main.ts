// Sage entry point: argv -> one command (src/cli/index.ts).
//
// This file is the only place that knows how the process was started. It runs the same way
// under `node src/main.ts`, `node dist/sage.cjs` and inside the single executable `dist/sage`.
// The executable is built with a V8 start-up snapshot (see build.mjs): the bundle is executed
// once at build time, every module's top level is evaluated then, and the heap is saved.
// At start-up Node deserialises that heap and calls only the function registered below, so
// run() — and everything it does — happens at run time with the real argv, environment and
// stdio. Module top levels therefore must not read process.env/argv, touch process.stdin/
// stdout/stderr, open sockets, files or timers, or load node:http (see build.mjs).
import v8 from 'node:v8';
import { run } from './cli/index.ts';

function main(): void {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`sage: ${message}\n`);
      process.exitCode = 1;
    },
  );
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  v8.startupSnapshot.setDeserializeMainFunction(main);
} else {
  main();
}
