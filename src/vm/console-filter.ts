// The guest console's output without terminal queries. busybox's line editing asks the terminal
// for the cursor position (ESC [ 6 n, a "device status report") each time it draws a prompt; shown
// raw (console.log's tail, a piped console) it is noise, and on a terminal the answer arrives as
// typed input ("^[[24;1R") after mqbench has printed the log's tail. Reports (ESC [ 5 n, ESC [ 6 n)
// are the only sequences that ask for an answer; everything else passes untouched.
// eslint-disable-next-line no-control-regex -- the ESC that starts the query is the point
const QUERY = /\x1b\[[56]n/g

/** Longest tail of `text` that could be the start of a query cut at a chunk boundary. */
function heldTail(text: string): number {
  for (const n of [3, 2, 1]) {
    const tail = text.slice(-n)
    if ('\x1b[6n'.startsWith(tail) || '\x1b[5n'.startsWith(tail)) return tail.length
  }
  return 0
}

/** Removes terminal queries from a whole text (a log's tail). */
export const withoutQueries = (text: string): string => text.replace(QUERY, '')

/** A streaming filter: a query split over two chunks is held back until it is whole. */
export class QueryFilter {
  private held = ''

  /** Bytes in, bytes out (latin1 keeps every byte as one character, so UTF-8 passes intact). */
  push(chunk: Buffer): Buffer {
    const clean = withoutQueries(this.held + chunk.toString('latin1'))
    const keep = heldTail(clean)
    this.held = clean.slice(clean.length - keep)
    return Buffer.from(clean.slice(0, clean.length - keep), 'latin1')
  }

  /** What is held at the end (a lone ESC that was not a query after all). */
  flush(): Buffer {
    const rest = Buffer.from(this.held, 'latin1')
    this.held = ''
    return rest
  }
}
