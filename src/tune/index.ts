// `mqbench tune` as one library call: read the device's setup, explain it, and optionally apply
// the plan (saving an undo file first) or revert an earlier apply.
import {readDeviceConfigWith, toConfigInForce, type DeviceConfig} from '../observe/config.js'
import {observeIO, type ObserveOptions} from '../observe/io.js'
import type {ConfigInForce} from '../results/schema.js'
import {applyTune, defaultUndoPath, loadUndoFile, revertTune, type TuneChange} from './apply.js'
import {channelState, ethtoolSetChannelsCommand, tuneFindings, type Finding} from './findings.js'
import {adviceFinding, limitedByFinding, loadQueueCountAdvice, type QueueCountAdvice} from './from-results.js'

export {applyTune, revertTune, loadUndoFile, defaultUndoPath, affinityPlan, xpsChanges} from './apply.js'
export type {UndoFile, TuneChange} from './apply.js'
export {tuneFindings, channelState, targetQueueCount, xpsPlan} from './findings.js'
export type {Finding, FindingLevel} from './findings.js'
export {queueCountAdvice, loadQueueCountAdvice} from './from-results.js'

export interface TuneOptions extends ObserveOptions {
  apply?: boolean
  /** where --apply saves the undo file (default: defaultUndoPath) */
  undoPath?: string
  /** an undo file to revert instead of advising */
  revertPath?: string
  /** a scale results file to recommend the queue count from */
  fromResults?: string
}

export interface TuneReport {
  dev: string
  netns: string
  driver?: string
  config: ConfigInForce
  findings: Finding[]
  queueCount?: QueueCountAdvice
  applied?: {undoFile: string; changes: TuneChange[]; configAfter: ConfigInForce}
  reverted?: {undoFile: string; restored: TuneChange[]; failures: string[]}
}

function findingsFor(cfg: DeviceConfig, advice: QueueCountAdvice | undefined): Finding[] {
  const f = tuneFindings(cfg)
  if (advice)
    f.unshift(
      adviceFinding(advice, cfg.dev, (n) => ethtoolSetChannelsCommand(cfg, n), channelState(cfg)?.current),
      limitedByFinding(advice),
    )
  return f
}

export function runTune(dev: string, opts: TuneOptions = {}): TuneReport {
  if (opts.revertPath) {
    const undo = loadUndoFile(opts.revertPath)
    const io = observeIO({...opts, netns: opts.netns ?? undo.netns})
    const r = revertTune(io, {...undo, dev: dev || undo.dev})
    const cfg = readDeviceConfigWith(io, dev || undo.dev)
    return {
      dev: cfg.dev,
      netns: io.netns,
      ...(cfg.driver ? {driver: cfg.driver.driver} : {}),
      config: toConfigInForce(cfg),
      findings: tuneFindings(cfg),
      reverted: {undoFile: opts.revertPath, ...r},
    }
  }
  const io = observeIO(opts)
  const advice = opts.fromResults ? loadQueueCountAdvice(opts.fromResults) : undefined
  const cfg = readDeviceConfigWith(io, dev)
  const report: TuneReport = {
    dev,
    netns: io.netns,
    config: toConfigInForce(cfg),
    findings: findingsFor(cfg, advice),
  }
  if (cfg.driver) report.driver = cfg.driver.driver
  if (advice) report.queueCount = advice
  if (opts.apply) {
    const a = applyTune(io, dev, opts.undoPath ?? defaultUndoPath(dev), {
      queueCount: advice?.smallestWithin5pct,
    })
    report.applied = {...a, configAfter: toConfigInForce(readDeviceConfigWith(io, dev))}
  }
  return report
}
