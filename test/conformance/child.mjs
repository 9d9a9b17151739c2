// One conformance scenario in a process of its own: node child.mjs <file> <name> <node|stack>.
// Prints each recorded event as a JSON line as it happens, so the record survives an
// uncaught exception; the parent adds how the process ended.
import { Recorder, makeEnv } from './harness.mjs';

const [file, name, kind] = process.argv.slice(2);
const { scenarios } = await import(new URL(file, import.meta.url).href);
const scenario = scenarios.find((s) => s.name === name);
if (!scenario) {
  console.error(`no scenario ${name} in ${file}`);
  process.exit(2);
}

class LineRecorder extends Recorder {
  log(channel, ...items) {
    super.log(channel, ...items);
    process.stdout.write(`${JSON.stringify(this.events[this.events.length - 1])}\n`);
  }
}

const rec = new LineRecorder();
const env = await makeEnv(kind, true);
/** Fires ms from now only if something still holds the process: records 'held' and exits. */
env.probe = (ms = 600) => {
  setTimeout(() => {
    rec.log('process', 'held');
    process.exit(0);
  }, ms).unref();
};
await scenario.run(env, rec);
