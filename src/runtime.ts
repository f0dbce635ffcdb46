/**
 * A client at run time: its configuration (data, checked once: options.ts) and what it runs on —
 * the store it journals to, the housekeeping that compacts it, the retry budget's tokens, and the
 * client as an owner of intents. Everything on a call's path takes this one object; what only
 * reads options takes `runtime.config`.
 */
import { Housekeeping } from './housekeeping.js';
import { type ClientConfig, checkClientOptions } from './config.js';
import type { ClientOptions, Platform } from './options.js';
import { Owner } from './owner.js';
import { RetryBudget } from './retry-budget.js';
import type { IntentStore } from './stores/store.js';

export interface ClientRuntime {
  readonly config: ClientConfig;
  readonly store: IntentStore;
  readonly housekeeping: Housekeeping;
  /** The tokens each origin has left; undefined when the client has no budget. */
  readonly retryBudget: RetryBudget | undefined;
  /** This client as an owner of intents. */
  readonly owner: Owner;
}

/** Checks every option, then opens what the client runs on: an invalid option leaves no journal open behind its TypeError. */
export function startRuntime(options: ClientOptions, platform: Platform): ClientRuntime {
  const config = checkClientOptions(options, platform);
  const store = options.store ?? platform.defaultStore();
  return {
    config,
    store,
    housekeeping: new Housekeeping(store),
    retryBudget: config.retryBudget === undefined ? undefined : new RetryBudget(config.retryBudget),
    owner: new Owner(store),
  };
}
