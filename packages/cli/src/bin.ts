#!/usr/bin/env -S node --disable-proto=delete
// Entry point of the `stella` command.
import { makeProgram } from './program.ts';

const code = await makeProgram({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
}).run();
process.exitCode = code;
