import {describe, expect, it} from 'vitest'
import {framesDue, parseRate, rateToPps, splitCount, splitRate} from '../../src/gen/rate.js'
import {minFrameSize, wireBytes} from '../../src/gen/frame.js'
import {MqbError} from '../../src/errors.js'

describe('gen rate', () => {
  it('parses packets per second, with pps as the default unit', () => {
    expect(parseRate('1M')).toEqual({pps: 1e6})
    expect(parseRate('100kpps')).toEqual({pps: 1e5})
    expect(parseRate('2.5Mpps')).toEqual({pps: 2.5e6})
    expect(parseRate('750')).toEqual({pps: 750})
  })

  it('parses bits per second', () => {
    expect(parseRate('10Gbit')).toEqual({bitsPerSecond: 1e10})
    expect(parseRate('500Mbit')).toEqual({bitsPerSecond: 5e8})
    expect(parseRate('1.5Gbps')).toEqual({bitsPerSecond: 1.5e9})
    expect(parseRate('64kbit/s')).toEqual({bitsPerSecond: 64e3})
  })

  it('rejects malformed and out-of-range rates with a badInput error', () => {
    for (const bad of ['', 'fast', '5Tbit', '-1M', '0', '2Gpps', '1 Mbytes']) {
      try {
        parseRate(bad)
        expect.fail(`accepted '${bad}'`)
      } catch (e) {
        expect(e).toBeInstanceOf(MqbError)
        expect((e as MqbError).exitCode).toBe(3)
      }
    }
  })

  it('turns bit/s into frames per second with the frame counted without FCS', () => {
    expect(rateToPps({bitsPerSecond: 480e6}, 60)).toBe(1e6)
    expect(rateToPps({bitsPerSecond: 12e9}, 1500)).toBe(1e6)
    expect(rateToPps({pps: 123}, 1500)).toBe(123)
    // line rate of 10GbE at 64-byte frames: 14.88 Mpps
    expect(10e9 / (wireBytes(60) * 8)).toBeCloseTo(14.88e6, -4)
  })

  it('splits counts exactly and rates evenly', () => {
    expect(splitCount(10, 3)).toEqual([4, 3, 3])
    expect(splitCount(1_000_001, 2).reduce((a, b) => a + b)).toBe(1_000_001)
    expect(splitRate(1e6, 4)).toEqual([250e3, 250e3, 250e3, 250e3])
  })

  it('token bucket: frame k is due k/rate after the start, without drift', () => {
    expect(framesDue(0, 1000, 0)).toBe(1)
    expect(framesDue(0, 1000, 1)).toBe(0)
    expect(framesDue(999_999, 1000, 1)).toBe(0)
    expect(framesDue(1_000_000, 1000, 1)).toBe(1)
    // after 10 s at 1 Mpps, 10,000,001 frames are due in total, however the batches fell
    expect(framesDue(10e9, 1e6, 9_999_990)).toBe(11)
  })

  it('knows the smallest frames', () => {
    expect(minFrameSize(4)).toBe(60)
    expect(minFrameSize(6)).toBe(80)
  })
})
