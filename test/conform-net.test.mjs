// The differential suite for node:net: every scenario of test/conformance/net.mjs runs
// against Node's net on 127.0.0.1 and against stack.net, and the records must be equal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defineSuite } from './conformance/harness.mjs';
import { scenarios } from './conformance/net.mjs';

defineSuite(test, assert, './net.mjs', scenarios);
test.run();
