// gen's text output that needs more than padding: what the placement verdict says, and the
// headings of the tables that count the same frames by different queues (a sender's queue at the
// receiver, the guest's own queues), so that two tables never look alike and disagree.
import type {GenGuest, GenPlacement} from '../results/schema.js'

/**
 * The placement line: which TX queue each sender thread leaves on and whether the receiver saw it
 * there. -1 means the driver picks (tun hashes each flow onto a queue), said in words.
 */
export function placementText(pl: GenPlacement): string {
  const driverPicks = pl.expectedTxQueue.some((q) => q < 0)
  if (driverPicks)
    return `TX queue per sender thread: picked by the driver (a tap hashes each flow onto one of its queues), so there is nothing to check`
  const map = pl.expectedTxQueue.map((q, i) => `thread ${i} -> queue ${q}`).join(', ')
  const verdict =
    pl.verified === undefined
      ? 'not checked (needs --rx-dev on a multiqueue receiver)'
      : pl.verified
        ? "verified: each queue's frames arrived on the matching receive queue"
        : 'NOT as expected: see placement.matrix in --json'
  return `TX queue per sender thread: ${map}; ${verdict}`
}

/** Heading and first column of the receiver's table: rows are the senders' queues, not the receiver's. */
export function receiverTableHeading(dev: string): {title: string; column: string} {
  return {
    title: `frames counted on ${dev}, by the sender queue in their header (which sender sent them, whatever queue they arrived on):`,
    column: 'sender q',
  }
}

/** Heading and first column of the guest's table: rows are the guest NIC's own queues. */
export function guestTableHeading(g: Pick<GenGuest, 'direction' | 'dev'>): {title: string; column: string} {
  return g.direction === 'to-guest'
    ? {
        title: `guest ${g.dev} by its RX queue (where the frames arrived): frames the guest agent's receiver counted there, and the driver's packet counters (ethtool -S, all traffic)`,
        column: 'guest rx q',
      }
    : {
        title: `guest ${g.dev} by its TX queue (where the frames left): the driver's packet counters (ethtool -S, all traffic)`,
        column: 'guest tx q',
      }
}
