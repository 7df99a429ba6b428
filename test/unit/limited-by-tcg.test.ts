// A sweep on a vm testbed under TCG (issue 22): its figures are functional only, so the verdict
// says TCG gives none, instead of advice (perf, locks) that applies to real CPUs.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {limitedBy} from '../../src/results/limited-by.js'
import type {GuestRecord, ResultsFile} from '../../src/results/schema.js'
import {scalingSummary} from '../../src/results/stats.js'

const load = () =>
  JSON.parse(readFileSync(new URL('../fixtures/results/tap-rr.json', import.meta.url), 'utf8')) as ResultsFile

const guest = (accel: 'tcg' | 'kvm') =>
  ({accel, accelReason: accel === 'tcg' ? 'no /dev/kvm' : 'kvm probe booted'}) as GuestRecord

describe('limited by, on a guest', () => {
  it('under TCG gives no scaling verdict and no advice', () => {
    const r = load()
    r.config.testbed = {kind: 'vm', name: 'g1', guest: guest('tcg')}
    const v = limitedBy(r, scalingSummary(r))
    expect(v.kind).toBe('none found')
    expect(v.headline).toMatch(/^the guest ran under TCG \(no \/dev\/kvm\): .*TCG gives no scaling verdict/)
    expect(v.advice).toBeUndefined()
  })
  it('under KVM judges as on any testbed', () => {
    const r = load()
    const plain = limitedBy(r, scalingSummary(r))
    r.config.testbed = {kind: 'vm', name: 'g1', guest: guest('kvm')}
    expect(limitedBy(r, scalingSummary(r))).toEqual(plain)
  })
})
