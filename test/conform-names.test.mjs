// The differential suite for name lookups: every scenario of test/conformance/names.mjs
// runs against node:dns and against stack.dns, and the records must be equal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defineSuite } from './conformance/harness.mjs';
import { scenarios } from './conformance/names.mjs';

defineSuite(test, assert, './names.mjs', scenarios);
test.run();
