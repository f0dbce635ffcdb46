export const USAGE = `Usage: durable-fetch list [path] [--json] [--state S]... [--secret-param NAME]...
       durable-fetch list --postgres URL [--table NAME] [--schema NAME] [...]
       durable-fetch list --redis URL [--key-prefix PREFIX] [...]
       durable-fetch migrate --postgres URL [--table NAME] [--schema NAME]
       durable-fetch --help

Lists the intents of a durable-fetch journal, read-only: safe beside running processes.
  path          the SQLite journal, or a directory holding intents.db
                (default: .idempotency/intents.db)
  --state S     only intents in state S: pending, succeeded, failed or expired;
                repeat it or give a comma list (--state pending,expired)
  --json        one JSON array, for scripts
  --secret-param NAME
                one more query or fragment parameter whose value is masked (as
                the clients' secretParams); any name holding token, secret, key,
                auth, code, session, password, signature and the like always is
  --postgres URL the postgresStore journal (table durable_fetch_intents unless --table),
                read in a READ ONLY transaction
  --redis URL   the redisStore journal (key prefix durable-fetch: unless --key-prefix)

migrate prints the SQL that creates postgresStore's table and indexes, for teams that
migrate by hand (the store creates them itself when missing). It connects to nothing.

Columns: state, age, method, URL (secret-named query and fragment values masked, no
user:password@), attempts, owner
lease ("held 12s": an owner works on it; "parked 29m": the server asked to wait;
"free": recovery may claim it), whether the key outlived its TTL (the server may have
forgotten it), scope, key. A state marked "(damaged)" is an intent the client's integrity
check refuses to send again (its stored method, URL and body no longer give its fingerprint,
say): the reasons follow the table; --json gives each one as "damaged" (null when whole).

A --postgres or --redis URL is never printed with its password.

A damaged record (times out of range or not numbers, fields of no intent's shape) is not
listed: the other intents are, then how many were skipped and why (on stderr with --json),
and the exit code is still 0.

list --postgres needs the npm package pg, list --redis the package redis; migrate needs
neither.

Exit codes: 0 listed (damaged records skipped included); 1 the journal cannot be read (its
database unreachable, or pg or redis not installed, included); 2 wrong usage (a malformed
--postgres or --redis URL included) or no journal at the path.`;
