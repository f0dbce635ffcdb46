// The Node-only entry: stores that need `node:` modules.
export { fileStore } from './stores/file.js';
export type { FileStore, FileStoreOptions, FileStoreStats } from './stores/file.js';
