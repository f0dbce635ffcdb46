/**
 * Header names that may carry a credential: never written to any journal, whatever an allow-list
 * says. Broad on purpose: a journal outlives the process, and its backups outlive the journal.
 */
const CREDENTIAL = /authorization|cookie|token|secret|api[-_]?key|password|credential/i;

export const isCredentialHeader = (name: string): boolean => CREDENTIAL.test(name);
