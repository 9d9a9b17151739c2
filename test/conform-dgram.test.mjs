// The differential suite for node:dgram: every scenario of test/conformance/dgram.mjs runs
// against Node's dgram on loopback and against stack.dgram, and the records must be equal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defineSuite } from './conformance/harness.mjs';
import { scenarios } from './conformance/dgram.mjs';

defineSuite(test, assert, './dgram.mjs', scenarios);
test.run();
