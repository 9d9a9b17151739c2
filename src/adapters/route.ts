// Routes the process's own node:net, node:dgram and node:dns through a stack, for code
// that imports those modules itself and takes no socket hook (database drivers, clients
// such as node-redis). The modules' exports are replaced (and Node's ES module bindings
// re-synced with module.syncBuiltinESMExports) until undone; nothing is patched on a
// prototype. Node-only; one route at a time.
import netNode from 'node:net';
import dgramNode from 'node:dgram';
import dnsNode from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import type { SocketProvider } from './provider.js';
import { createNet } from './net.js';
import { createDgram } from './dgram.js';
import { createDns } from './dns.js';

/** An active route; undo() (or `using`) puts Node's own modules back. */
export interface Route {
  /** The stack traffic goes through. */
  readonly stack: SocketProvider;
  /** True until undone. */
  readonly active: boolean;
  /** Restores node:net, node:dgram and node:dns as they were. */
  undo(): void;
  [Symbol.dispose](): void;
}

type Saved = Array<[Record<string, unknown>, string, unknown]>;

const NET_KEYS = ['Socket', 'Stream', 'Server', 'connect', 'createConnection', 'createServer',
  'getDefaultAutoSelectFamily', 'setDefaultAutoSelectFamily',
  'getDefaultAutoSelectFamilyAttemptTimeout', 'setDefaultAutoSelectFamilyAttemptTimeout'] as const;

let current: Route | undefined;

/**
 * Sends what the process does through node:net, node:dgram and node:dns (lookup and
 * promises.lookup) over stack, until undo(). Code that looks the functions up when it
 * calls them (net.connect, import { connect } from 'node:net') follows the route; a
 * reference copied before routing, and node:http's Agent and Server, node:tls and
 * node:https (which hold their own), do not. Throws if a route is active already.
 */
export function routeThrough(stack: SocketProvider): Route {
  if (current?.active) throw new Error('lwip-wasm: node:net is routed through a stack already; undo that route first');
  const net = createNet(stack) as unknown as Record<string, unknown>;
  const dgram = createDgram(stack) as unknown as Record<string, unknown>;
  const dns = createDns(stack);
  const saved: Saved = [];
  const replace = (target: Record<string, unknown>, key: string, value: unknown): void => {
    saved.push([target, key, target[key]]);
    target[key] = value;
  };
  const netMod = netNode as unknown as Record<string, unknown>;
  for (const key of NET_KEYS) if (key in netMod) replace(netMod, key, net[key]);
  const dgramMod = dgramNode as unknown as Record<string, unknown>;
  replace(dgramMod, 'Socket', dgram['Socket']);
  replace(dgramMod, 'createSocket', dgram['createSocket']);
  const dnsMod = dnsNode as unknown as Record<string, unknown>;
  replace(dnsMod, 'lookup', dns.lookup);
  replace(dnsNode.promises as unknown as Record<string, unknown>, 'lookup', dns.promises.lookup);
  syncBuiltinESMExports();
  let active = true;
  const route: Route = {
    stack,
    get active() {
      return active;
    },
    undo() {
      if (!active) return;
      active = false;
      for (const [target, key, value] of saved.reverse()) target[key] = value;
      syncBuiltinESMExports();
      if (current === route) current = undefined;
    },
    [Symbol.dispose]() {
      route.undo();
    },
  };
  current = route;
  return route;
}

/** Runs fn with the process's net, dgram and dns routed through stack, and undoes the route when fn settles. */
export async function withRoute<T>(stack: SocketProvider, fn: () => T | Promise<T>): Promise<T> {
  const route = routeThrough(stack);
  try {
    return await fn();
  } finally {
    route.undo();
  }
}
