import {describe, expect, it} from 'vitest'
import {RESERVED_FDS, openFilesShortfall} from '../../src/sessions/host-limits.js'

describe('session limits', () => {
  it('asks for a socket per session plus a reserve, naming RLIMIT_NOFILE when short', () => {
    expect(openFilesShortfall(1000, {openFiles: 1000 + RESERVED_FDS, openFilesHard: 4096})).toBeUndefined()
    expect(openFilesShortfall(1001, {openFiles: 1000 + RESERVED_FDS, openFilesHard: 1256})).toBe(
      '1001 sessions need about 1257 open files, but RLIMIT_NOFILE allows 1256 (hard limit 1256); raise it (ulimit -Hn, LimitNOFILE=) or run fewer sessions',
    )
  })
})
