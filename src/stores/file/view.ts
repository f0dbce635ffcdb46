/**
 * Keeps an index of every segment in the directory, this process's and others', up to date by
 * reading only the bytes appended since the last look.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { coalesce } from './coalesce.js';
import { decodeRecord, scanFrames } from './format.js';
import { type IndexedRecord, JournalIndex } from './journal-index.js';
import { ownerGone, parseName } from './names.js';

interface FileState {
  /** Bytes read and applied; reading resumes here. */
  offset: number;
  /** Nothing more will be appended: the file is a compaction's output, sealed, or superseded. */
  done: boolean;
}

interface Chunk {
  name: string;
  from: number;
  bytes: Buffer;
  /** The file's writer has moved on, so the bytes read are all there will ever be. */
  finished: boolean;
}

type Replay = (index: JournalIndex, files: Map<string, FileState>) => void;

export interface FileSummary {
  name: string;
  bytes: number;
  /** Its writer will not append to it again (so far as this view knows). */
  finished: boolean;
}

/** A file shrank: only a full re-read gives a true picture. */
class Reshaped extends Error {}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

export class JournalView {
  index = new JournalIndex();
  /** Bytes read from segment files so far: a refresh reads only what was appended since the last. */
  bytesRead = 0;
  private files = new Map<string, FileState>();
  /** While a full re-read runs, this process's own writes are noted here to be replayed into its result. */
  private replays: Replay[] | undefined;
  private mustRebuild = false;

  /** Brings the index up to date with what is on disk now; concurrent callers share the work. */
  readonly refresh: () => Promise<void>;

  constructor(private readonly dir: string) {
    this.refresh = coalesce(() => this.load());
  }

  /**
   * Records this process's writer has just made durable at [start, end) of `file`: applied now so
   * a resolved put is visible at once, and marked read so they are not parsed again.
   */
  applyOwn(file: string, start: number, end: number, records: readonly IndexedRecord[]): void {
    const replay: Replay = (index, files) => {
      for (const record of records) index.apply(record, file);
      const state = files.get(file) ?? { offset: 0, done: false };
      // A gap before `start` would be bytes this view has not read: leave the offset for the reader.
      if (state.offset >= start) state.offset = Math.max(state.offset, end);
      files.set(file, state);
    };
    replay(this.index, this.files);
    this.replays?.push(replay);
  }

  /** This process's writer will append no more to `file`. */
  markDone(file: string): void {
    const mark: Replay = (_, files) => {
      const state = files.get(file);
      if (state) state.done = true;
    };
    mark(this.index, this.files);
    this.replays?.push(mark);
  }

  summary(): FileSummary[] {
    return [...this.files].map(([name, state]) => {
      const parsed = parseName(name);
      return { name, bytes: state.offset, finished: state.done || (parsed !== undefined && ownerGone(parsed.host, parsed.pid)) };
    });
  }

  private async load(): Promise<void> {
    // A file that vanishes between listing and reading was compacted: its records are in a file
    // that the next listing shows, so list again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.loadOnce();
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
        if (err instanceof Reshaped) this.mustRebuild = true;
        else if (errno(err) !== 'ENOENT') throw err;
      }
    }
  }

  private async loadOnce(): Promise<void> {
    const names = (await readdir(this.dir)).filter((name) => parseName(name) !== undefined);
    const listed = new Set(names);
    const highest = new Map<string, number>();
    for (const name of names) {
      const { kind, owner, n } = parseName(name)!;
      if (kind === 'writer' && n > (highest.get(owner) ?? -1)) highest.set(owner, n);
    }
    // Files that will not grow: read once more, then never again (and a damaged last frame in
    // them is skipped rather than waited on).
    const finished = (name: string) => {
      const { kind, owner, n, host, pid } = parseName(name)!;
      return kind === 'compacted' || highest.get(owner)! > n || ownerGone(host, pid);
    };

    if (!this.mustRebuild) {
      const vanished = [...this.files.keys()].filter((name) => !listed.has(name));
      const chunks = await Promise.all(names.map((name) => this.readNew(name, this.files.get(name), finished(name))));
      // Files vanish only by compaction, which renamed its output into place first: this listing
      // or an earlier one shows it. What the vanished files held is either in that output (the
      // index knows each copy's file), or was dropped together with every other record of its
      // intent (compact.ts), so forgetting the vanished files leaves exactly what is on disk.
      if (vanished.length > 0) {
        this.index.forget(new Set(vanished));
        for (const name of vanished) this.files.delete(name);
      }
      for (const chunk of chunks) if (chunk) this.applyChunk(chunk, this.index, this.files);
      // Should a listing ever have missed the output while no longer showing its inputs (POSIX
      // leaves readdir during a rename unspecified), list again before answering anyone.
      if (vanished.length > 0) {
        const again = await readdir(this.dir);
        if (again.some((name) => parseName(name) !== undefined && !this.files.has(name))) await this.loadOnce();
      }
      return;
    }

    // A file shrank, which no writer does: trust nothing read before, and read everything again.
    this.replays = [];
    try {
      const chunks = await Promise.all(names.map((name) => this.readNew(name, undefined, finished(name))));
      const index = new JournalIndex();
      const files = new Map<string, FileState>();
      for (const chunk of chunks) if (chunk) this.applyChunk(chunk, index, files);
      for (const replay of this.replays) replay(index, files);
      this.index = index;
      this.files = files;
      this.mustRebuild = false;
    } finally {
      this.replays = undefined;
    }
  }

  private async readNew(name: string, state: FileState | undefined, finished: boolean): Promise<Chunk | undefined> {
    if (state?.done) return undefined;
    const from = state?.offset ?? 0;
    const path = join(this.dir, name);
    const size = (await stat(path)).size;
    if (size < from) throw new Reshaped();
    if (size === from) return { name, from, bytes: Buffer.alloc(0), finished };
    const handle = await open(path, 'r');
    try {
      const bytes = Buffer.allocUnsafe(size - from);
      let got = 0;
      while (got < bytes.length) {
        const { bytesRead } = await handle.read(bytes, got, bytes.length - got, from + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      this.bytesRead += got;
      return { name, from, bytes: bytes.subarray(0, got), finished };
    } finally {
      await handle.close();
    }
  }

  private applyChunk(chunk: Chunk, index: JournalIndex, files: Map<string, FileState>): void {
    let sealed = false;
    const settled = scanFrames(
      chunk.bytes,
      (json) => {
        const record = decodeRecord(json);
        if (record?.kind === 'seal') sealed = true;
        else if (record?.kind === 'intent') index.apply(record, chunk.name);
      },
      !chunk.finished,
    );
    const state = files.get(chunk.name) ?? { offset: 0, done: false };
    state.offset = Math.max(state.offset, chunk.from + settled);
    state.done = chunk.finished || sealed;
    files.set(chunk.name, state);
  }
}
