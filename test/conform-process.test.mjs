// The differential suite for process lifetime and uncaught exceptions: every scenario of
// test/conformance/process.mjs runs in a child process against Node's modules and
// against a stack's, and the records (with how the process ended) must be equal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defineSuite } from './conformance/harness.mjs';
import { scenarios } from './conformance/process.mjs';

defineSuite(test, assert, './process.mjs', scenarios);
test.run();
