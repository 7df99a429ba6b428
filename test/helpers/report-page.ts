// Opens a report file in headless Chromium and waits until its charts are drawn, collecting every
// request the page makes and every console error or warning (a report must be offline and clean).
import {pathToFileURL} from 'node:url'
import type {Browser, Page} from 'playwright-core'

export interface OpenedReport {
  page: Page
  requests: string[]
  problems: string[]
  url: string
}

export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.newPage({viewport: {width: 1100, height: 900}})
  const requests: string[] = []
  const problems: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  const url = pathToFileURL(file).href
  await page.goto(url)
  await page.waitForFunction(() => (window as unknown as {mqbReady?: boolean}).mqbReady === true, undefined, {
    timeout: 15_000,
  })
  return {page, requests, problems, url}
}
