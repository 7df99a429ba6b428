import {describe, expect, it} from 'vitest'
import {RESERVED_FDS, openFilesInUse, openFilesShortfall} from '../../src/sessions/host-limits.js'

describe('session host limits', () => {
  it('asks for a socket per session plus a reserve beyond what is open, naming RLIMIT_NOFILE when short', () => {
    const limits = {openFiles: 1000 + RESERVED_FDS + 30, openFilesHard: 4096}
    expect(openFilesShortfall(1000, limits, 30)).toBeUndefined()
    expect(openFilesShortfall(1001, limits, 30)).toBe(
      `1001 sessions need about ${1001 + RESERVED_FDS} more open files, but RLIMIT_NOFILE allows ${limits.openFiles} (hard limit 4096) and 30 are open; raise it (ulimit -Hn, LimitNOFILE=) or run fewer sessions`,
    )
    // A server still holding another test's sockets has fewer to give.
    expect(openFilesShortfall(1000, limits, 31)).toMatch(/and 31 are open/)
  })

  it('counts the descriptors this process has open', () => {
    expect(openFilesInUse()).toBeGreaterThan(2)
  })
})
