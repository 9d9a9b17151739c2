// A macrotask scheduler for links. Delivering frames in a macrotask (not a microtask)
// lets timers and I/O run between batches, so two stacks in one thread cannot starve
// the event loop, and everything sent in one turn travels as one batch.

type Task = () => void;

const setImmediateFn: ((fn: Task) => unknown) | undefined =
  (globalThis as { setImmediate?: (fn: Task) => unknown }).setImmediate;

let channelQueue: Task[] | undefined;
let channel: MessageChannel | undefined;

export function scheduleMacrotask(fn: Task): void {
  if (setImmediateFn) {
    setImmediateFn(fn);
    return;
  }
  if (!channel) {
    channelQueue = [];
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const tasks = channelQueue!;
      channelQueue = [];
      for (const t of tasks) t();
    };
  }
  channelQueue!.push(fn);
  if (channelQueue!.length === 1) channel.port2.postMessage(0);
}
