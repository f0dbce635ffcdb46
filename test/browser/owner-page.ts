// Loaded by `runInFreshPage` into a page of its own: an owner that lives as long as the page does.
import { indexedDbStore } from '../../src/browser.js';

/** Enlists an owner with the journal `name`'s store and resolves its id; the page then closes, holding it. */
export async function enlistAndClose(name: string): Promise<string> {
  const enlisted = await indexedDbStore({ name }).enlist!();
  return enlisted.owner;
}
