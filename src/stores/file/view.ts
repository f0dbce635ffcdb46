/**
 * Keeps an index of every segment in the directory, this process's and others', up to date by
 * reading only the bytes appended since the last look.
 *
 * A store looks on every get and list, so when nothing changed looking must cost next to nothing.
 * A following view (a store's) therefore, on local file systems:
 * - lists the directory again only when its change time moved: files are created, renamed and
 *   removed through the directory, which stamps it, while appends to a file leave it alone;
 * - checks the files other writers may still append to with one fstat each, on read handles it
 *   keeps open, and reads appended bytes through the same handles;
 * - never reads its own writer's live segment: every record there came through applyOwn.
 * Those checks are synchronous on purpose: an fstat of an open file or a stat of a cached
 * directory never waits for the disk, while an asynchronous one would queue in libuv's thread
 * pool behind the fsyncs of every put in flight.
 */
import { type BigIntStats, close, fstatSync, open as openFd, read as readFd, statSync } from 'node:fs';
import { open, readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

export interface ViewOptions {
  /**
   * Look often and cheaply: keep read handles on files that may grow, and trust an unchanged
   * directory (on local file systems). For a long-lived store; a one-shot reader needs neither.
   */
  follow?: boolean;
}

/** A read handle on another writer's segment that may still grow. */
interface Follower {
  fd: number;
  /** The file it was opened on: a different file under the same name is a reshaped journal. */
  ino: number;
}

/** What says whether the directory's entries changed: any create, rename or unlink stamps both times. */
interface DirStamp {
  dev: bigint;
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A listing that is still true for as long as the directory shows the same stamp. */
interface Listing {
  names: string[];
  stamp: DirStamp;
}

/**
 * The directory stamp comes from the kernel's coarse clock (one tick, 1–10 ms, lags the real time),
 * so a change made within the tick of a listing could leave the stamp as it was. A listing is
 * trusted only when the stamp it was taken under is older than this: every later change then
 * stamps a later time. Kernels since 6.13 stamp finer when the time was looked at, which this
 * does not rely on.
 */
const SETTLE_NS = 100_000_000n;

/**
 * File systems whose directory stamps come from this kernel's clock, set on every change of the
 * entries. A network or FUSE file system may stamp with another machine's clock, or answer stat
 * from a cache: there every look lists the directory again.
 */
export const LOCAL_FILE_SYSTEMS: ReadonlySet<number> = new Set([
  0xef53, // ext2/3/4
  0x01021994, // tmpfs
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x794c7630, // overlayfs (a container's own file system)
]);

/** A file shrank, or another file took its name: only a full re-read gives a true picture. */
class Reshaped extends Error {}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;
const openForRead = promisify(openFd);
const readAt = promisify(readFd);
const EMPTY = Buffer.alloc(0);

const stampOf = (s: BigIntStats): DirStamp => ({ dev: s.dev, ino: s.ino, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs });
const sameStamp = (a: DirStamp, b: DirStamp) => a.ino === b.ino && a.dev === b.dev && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);

export class JournalView {
  index = new JournalIndex();
  /** Bytes read from segment files so far: a refresh reads only what was appended since the last. */
  bytesRead = 0;
  /** Times the directory was listed; a look that found it unchanged does not count. */
  listings = 0;
  private files = new Map<string, FileState>();
  /** While a full re-read runs, this process's own writes are noted here to be replayed into its result. */
  private replays: Replay[] | undefined;
  private mustRebuild = false;
  private readonly follow: boolean;
  /** Whether the directory is on a file system whose stamps can be trusted; known after the first look. */
  private local: boolean | undefined;
  /** The last listing, while it can be trusted. */
  private listing: Listing | undefined;
  private readonly followers = new Map<string, Follower>();
  /** Segments this process's writer is appending to: known without reading them. */
  private readonly own = new Set<string>();
  private closed = false;
  /** Looks in progress: closing waits for them, as they may be reading through a follower's handle. */
  private readonly running = new Set<Promise<void>>();

  /** Brings the index up to date with what is on disk now; concurrent callers share the work. */
  readonly refresh: () => Promise<void>;

  constructor(
    private readonly dir: string,
    options: ViewOptions = {},
  ) {
    this.follow = options.follow === true;
    const load = coalesce(() => {
      const run = this.load();
      this.running.add(run);
      const done = () => void this.running.delete(run);
      run.then(done, done);
      return run;
    });
    this.refresh = () => (this.current() ? Promise.resolve() : load());
  }

  /**
   * This process's writer is about to create `file`: its records arrive through applyOwn, so
   * the file is never read while it is being written (and never half-read mid-append).
   */
  adoptOwn(file: string): void {
    this.own.add(file);
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
    this.own.delete(file);
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

  /** Releases the read handles. The index stays readable; refreshing lists and stats again. */
  async close(): Promise<void> {
    this.closed = true;
    this.listing = undefined;
    // A look that began before closing may be reading through a handle: closing it under the
    // read could let the descriptor number go to another file. Looks begun after use none.
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    for (const name of [...this.followers.keys()]) this.unfollow(name);
  }

  /**
   * True when the index certainly holds everything on disk: the directory has the stamp of a
   * trusted listing, and every file another writer may still append to is as long as what was read.
   */
  current(): boolean {
    const listing = this.listing;
    if (listing === undefined || this.mustRebuild) return false;
    try {
      if (!sameStamp(stampOf(statSync(this.dir, { bigint: true })), listing.stamp)) return false;
      for (const [name, state] of this.files) {
        if (state.done || this.own.has(name)) continue;
        const follower = this.followers.get(name);
        if (follower === undefined || fstatSync(follower.fd).size !== state.offset) return false;
      }
    } catch {
      return false; // whatever went wrong, the full look reports it
    }
    return true;
  }

  private async load(): Promise<void> {
    if (this.follow && this.local === undefined) {
      this.local = process.platform === 'linux' && LOCAL_FILE_SYSTEMS.has((await statfs(this.dir)).type);
    }
    // A file that vanishes between listing and reading was compacted: its records are in a file
    // that the next listing shows, so list again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.loadOnce();
        return;
      } catch (err) {
        this.listing = undefined;
        if (attempt >= 10) throw err;
        if (err instanceof Reshaped) this.mustRebuild = true;
        else if (errno(err) !== 'ENOENT') throw err;
      }
    }
  }

  /** The directory's names, reusing the last listing when the directory's stamp says nothing changed. */
  private async list(): Promise<{ names: string[]; trusted?: Listing; fresh: boolean }> {
    const trusting = this.follow && this.local === true && !this.closed;
    // Stamped before listing: a change the listing misses then moves the stamp past this one.
    const stamp = trusting ? stampOf(statSync(this.dir, { bigint: true })) : undefined;
    const lookedAt = BigInt(Date.now()) * 1_000_000n;
    if (stamp !== undefined && this.listing !== undefined && sameStamp(stamp, this.listing.stamp)) {
      return { names: this.listing.names, trusted: this.listing, fresh: false };
    }
    const names = (await readdir(this.dir)).filter((name) => parseName(name) !== undefined);
    this.listings += 1;
    const settled = stamp !== undefined && lookedAt - maxBig(stamp.mtimeNs, stamp.ctimeNs) >= SETTLE_NS;
    return { names, fresh: true, ...(settled ? { trusted: { names, stamp: stamp! } } : {}) };
  }

  private async loadOnce(): Promise<void> {
    const { names, trusted, fresh } = await this.list();
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
    if (fresh) this.checkFollowers(listed);

    if (!this.mustRebuild) {
      const vanished = [...this.files.keys()].filter((name) => !listed.has(name));
      const chunks = await Promise.all(
        names.map((name) => (this.own.has(name) ? undefined : this.readNew(name, this.files.get(name), finished(name)))),
      );
      // Files vanish only by compaction, which renamed its output into place first: this listing
      // or an earlier one shows it. What the vanished files held is either in that output (the
      // index knows each copy's file), or was dropped together with every other record of its
      // intent (compact.ts), so forgetting the vanished files leaves exactly what is on disk.
      if (vanished.length > 0) {
        this.index.forget(new Set(vanished));
        for (const name of vanished) this.forgetFile(name);
      }
      for (const chunk of chunks) if (chunk) this.applyChunk(chunk, this.index, this.files);
      // Should a listing ever have missed the output while no longer showing its inputs (POSIX
      // leaves readdir during a rename unspecified), list again before answering anyone, and
      // before trusting this listing.
      if (vanished.length > 0) {
        const again = await readdir(this.dir);
        if (again.some((name) => parseName(name) !== undefined && !this.files.has(name) && !this.own.has(name))) {
          await this.loadOnce();
          return;
        }
      }
      this.listing = trusted;
      return;
    }

    // A file shrank or another took its name, which no writer does: trust nothing read before,
    // and read everything again (this process's own segments too, as the new index starts empty).
    this.replays = [];
    try {
      const chunks = await Promise.all(names.map((name) => this.readNew(name, undefined, finished(name))));
      const index = new JournalIndex();
      const files = new Map<string, FileState>();
      for (const chunk of chunks) if (chunk) this.applyChunk(chunk, index, files);
      for (const replay of this.replays) replay(index, files);
      for (const name of [...this.followers.keys()]) if (!files.has(name)) this.unfollow(name);
      this.index = index;
      this.files = files;
      this.mustRebuild = false;
      this.listing = trusted;
    } finally {
      this.replays = undefined;
    }
  }

  /** After a new listing: a followed name that now leads to another file means the journal was reshaped. */
  private checkFollowers(listed: ReadonlySet<string>): void {
    for (const [name, follower] of this.followers) {
      if (!listed.has(name)) continue; // vanished: forgotten once the listing is applied
      let ino: number | undefined;
      try {
        ino = statSync(join(this.dir, name)).ino;
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
      if (ino !== follower.ino) {
        this.unfollow(name);
        throw ino === undefined ? Object.assign(new Error(`${name} vanished`), { code: 'ENOENT' }) : new Reshaped();
      }
    }
  }

  private async readNew(name: string, state: FileState | undefined, finished: boolean): Promise<Chunk | undefined> {
    if (state?.done) return undefined;
    const from = state?.offset ?? 0;
    let follower = this.closed ? undefined : this.followers.get(name);
    if (follower === undefined && !finished && !this.own.has(name) && this.follow && this.local === true && !this.closed) {
      follower = await this.startFollowing(name);
    }
    const size = follower ? fstatSync(follower.fd).size : (await stat(join(this.dir, name))).size;
    if (size < from) throw new Reshaped();
    if (size === from) return { name, from, bytes: EMPTY, finished };
    const bytes = Buffer.allocUnsafe(size - from);
    let got = 0;
    if (follower) {
      got = await readFully(follower.fd, bytes, from);
    } else {
      const handle = await open(join(this.dir, name), 'r');
      try {
        got = await readFully(handle.fd, bytes, from);
      } finally {
        await handle.close();
      }
    }
    this.bytesRead += got;
    return { name, from, bytes: bytes.subarray(0, got), finished };
  }

  /** A read handle kept on `name`, or undefined when the view was closed while opening it. */
  private async startFollowing(name: string): Promise<Follower | undefined> {
    const fd = await openForRead(join(this.dir, name), 'r');
    const existing = this.followers.get(name);
    if (existing !== undefined || this.closed) {
      close(fd, () => undefined);
      return existing;
    }
    const follower = { fd, ino: fstatSync(fd).ino };
    this.followers.set(name, follower);
    return follower;
  }

  private unfollow(name: string): void {
    const follower = this.followers.get(name);
    if (follower === undefined) return;
    this.followers.delete(name);
    close(follower.fd, () => undefined);
  }

  private forgetFile(name: string): void {
    this.files.delete(name);
    this.own.delete(name);
    this.unfollow(name);
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
    if (state.done) this.unfollow(chunk.name);
  }
}

/** Reads into `bytes` from `position` until it is full or the file ends; returns the bytes read. */
async function readFully(fd: number, bytes: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < bytes.length) {
    const { bytesRead } = await readAt(fd, bytes, got, bytes.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
